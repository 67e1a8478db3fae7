"""Report figures on small hand-built audit files, each expected figure worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from openclaw_failover._report import build_report

T0 = 1_800_000_000 // 86400 * 86400  # a UTC midnight


def line(ts: float, event: str, **fields: Any) -> dict[str, Any]:
    """One audit line as the writer puts it (only the fields a case needs)."""
    return {"v": 1, "ts": ts, "event": event, **fields}


def report_of(tmp_path: Path, lines: list[dict[str, Any]], tail: bytes = b"") -> dict[str, Any]:
    """The report over the day before T0 + 2 h, of ``lines`` (plus raw bytes at the end)."""
    audit = tmp_path / "audit.jsonl"
    audit.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines) + tail)
    return build_report(audit, now=T0 + 7200, since_s=86400).to_json()


def test_only_skips_of_cooling_candidates_are_cooldown_hits(tmp_path: Path) -> None:
    """A skip is a cooldown hit only when it carries cooldown_until (a cooling or probed key):
    the engine also writes skip lines for a malformed stream event, a banned or keyless
    candidate and a too-small context window, none of which met a cooldown."""
    lines = [
        line(
            T0 + 1,
            "skip",
            provider="p",
            model="m",
            profile="p:a",
            reason="rate_limit",
            cooldown_until=T0 + 61,
            detail="cooling",
        ),
        line(
            T0 + 2,
            "skip",
            provider="p",
            model="m",
            profile="p:a",
            failure_kind="MalformedEvent",
            detail="malformed stream event",
        ),
        line(
            T0 + 3,
            "skip",
            provider="p",
            model="banned",
            detail="banned, unknown provider or no usable key",
        ),
        line(
            T0 + 4,
            "skip",
            provider="p",
            model="m",
            profile="p:a",
            reason="context_overflow",
            detail="context window smaller",
        ),
    ]
    keys = {k["profile"]: k for k in report_of(tmp_path, lines)["keys"]}
    assert keys["p:a"]["cooldown_hits"] == 1
    assert "p/banned" not in keys  # no row of zeros for a candidate that never cooled


def test_client_errors_are_not_intents_and_cannot_hide_a_hard_stop_alert(tmp_path: Path) -> None:
    """1 hard stop and 4 answers in an hour is a 20% hard-stop share (> 15%: an alert); 20
    client errors in the same hour (a client sending bad requests, refused before routing)
    are counted apart and change neither the shares nor the alert (was: 1/25 = 4%, no alert)."""
    lines = [line(T0 + 10, "outcome", request_id="h", outcome="hard_stop")]
    lines += [line(T0 + 20 + i, "outcome", outcome="answered") for i in range(4)]
    lines += [
        line(T0 + 30 + i, "outcome", request_id=f"c{i}", outcome="client_error", status=400)
        for i in range(20)
    ]
    data = report_of(tmp_path, lines)
    totals = data["totals"]
    assert (totals["intents"], totals["client_errors"]) == (5, 20)
    assert totals["hard_stop_share"] == 0.2
    assert totals["session_hard_stop_share"] == 0.2
    assert [(a["metric"], a["value"]) for a in data["alerts"]] == [("hard_stop_share", 0.2)]
    assert data["days"][0]["client_errors"] == 20


def test_an_unprintable_ts_or_a_non_text_key_field_is_a_bad_line(tmp_path: Path) -> None:
    """A ts past the year 9999 and a list or object where text is expected (a corrupted line
    or a newer writer) are each one bad line, and the report is built from the rest (was: an
    OverflowError or TypeError, and no report at all)."""
    good = line(T0 + 10, "outcome", outcome="answered", route="auto", latency_ms=5)
    bad = [
        line(1e20, "outcome", outcome="answered"),
        line(T0 + 20, "attempt", provider="p", model="m", reason=["rate_limit"]),
        line(T0 + 30, "outcome", outcome="answered", route=["auto"], latency_ms=5),
        line(T0 + 40, "outcome", outcome="answered", route_version={"v": 1}),
        line(T0 + 50, "skip", request_id=7, reason="rate_limit", cooldown_until=T0 + 99),
        line(T0 + 60, "skip", profile=["p:a"], reason="rate_limit", cooldown_until=T0 + 99),
    ]
    data = report_of(tmp_path, [good, *bad])
    assert (data["lines"], data["bad_lines"]) == (1, 6)
    assert data["totals"]["intents"] == 1
    assert (data["rates"], data["keys"]) == ([], [])
