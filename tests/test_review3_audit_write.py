"""Review of the audit writer: a batch whose write is cut short by a full disk."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover._audit import AuditReadStats, JsonlAuditSink, read_audit
from tests.test_audit_sink import record


def emit_one_batch(sink: JsonlAuditSink, count: int) -> None:
    """Emit ``count`` records on an event loop, so they reach the writer as one batch."""

    async def emit_all() -> None:
        for n in range(count):
            sink.emit(record(n))
        await asyncio.sleep(0.05)  # past HAND_OVER_S: handed over together

    asyncio.run(emit_all())
    assert sink.flush(5)


@pytest.mark.parametrize(("whole", "torn"), [(3, True), (3, False), (0, True)])
def test_a_batch_cut_short_counts_only_the_records_not_written_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    whole: int,
    torn: bool,
) -> None:
    """A write of 10 lines that stops after ``whole`` lines (and part of the next, if torn),
    the disk then full, drops 10 - whole records (it counted all 10); the lines written whole
    stay readable and the next batch starts on a line of its own."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    real_write = os.write
    calls: list[int] = []

    def cut_then_full(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        if len(calls) > 2:
            return real_write(fd, data)
        body = bytes(data)
        cut = sum(len(line) for line in body.splitlines(keepends=True)[:whole]) + 7 * torn
        return real_write(fd, body[:cut])

    monkeypatch.setattr("openclaw_failover._audit.os.write", cut_then_full)
    with caplog.at_level(logging.WARNING, logger="openclaw_failover.audit"):
        emit_one_batch(sink, 10)
        assert sink.dropped == 10 - whole
        sink.emit(record(10))
        sink.close()
    assert sink.dropped == 10 - whole
    stats = AuditReadStats()
    assert [line["attempt"] for line in read_audit(path, stats=stats)] == [*range(whole), 10]
    assert stats.skipped == int(torn)
    assert f"{10 - whole} records were not written" in caplog.text
