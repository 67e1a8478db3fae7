"""Incident review: a damaged audit line does not stop the incident view."""

from __future__ import annotations

from pathlib import Path

import orjson

from openclaw_failover._incident import find_request, render_incident

TS = 1_800_000_000.0


def test_lines_without_numeric_ts_are_skipped(tmp_path: Path) -> None:
    """Lines whose ts is null or text are skipped (as the report does), not a crash."""
    lines = [
        {"event": "attempt", "request_id": "r1", "ts": None, "provider": "p"},
        {"event": "attempt", "request_id": "r1", "ts": TS, "provider": "p", "model": "m"},
        {"event": "outcome", "request_id": "r2", "ts": "soon", "outcome": "answered"},
        {"event": "outcome", "request_id": "r3", "ts": TS + 1, "outcome": "answered"},
        {"event": "outcome", "request_id": "r1", "ts": TS + 2, "outcome": "answered"},
    ]
    audit = tmp_path / "audit.jsonl"
    audit.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    own, samples = find_request([audit], "r1")
    assert [d["ts"] for d in own] == [TS, TS + 2]
    assert [d["request_id"] for d in samples] == ["r3"]
    text = render_incident("r1", own, samples, config_path=None)
    assert "| p/m |" in text
