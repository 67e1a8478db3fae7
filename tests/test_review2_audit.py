"""Review of the audit writer: a record orjson cannot encode, a disk that hangs, a disk that
fills for a while, and a close that cannot finish."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover._audit import AuditReadStats, JsonlAuditSink, read_audit
from tests.test_audit_sink import record, stick_first_write


def test_a_lone_surrogate_neither_kills_the_writer_nor_loses_the_batch(tmp_path: Path) -> None:
    """A string orjson refuses (a lone surrogate, as json.loads gives the sidecar for
    "\\ud800") is written escaped as text; the records around it and later ones are written
    (the writer thread died on the TypeError and every later record was lost)."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    sink.emit(record(1))
    sink.emit(record(2, session_id="s-\ud800", model="m\udcff", tools_blocked=("x\ud801",)))
    sink.emit(record(3))
    assert sink.flush(5)
    sink.emit(record(4))
    assert sink.flush(5), "the writer thread stopped writing"
    sink.close()
    stats = AuditReadStats()
    lines = list(read_audit(path, stats=stats))
    assert [line["attempt"] for line in lines] == [1, 2, 3, 4]
    assert stats.skipped == 0
    assert lines[1]["session_id"] == "s-\\ud800"
    assert lines[1]["model"] == "m\\udcff"
    assert lines[1]["tools_blocked"] == ["x\\ud801"]
    assert sink.dropped == 0


def test_an_unexpected_error_in_the_writer_drops_the_batch_not_the_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Any exception in a batch (not only OSError) is counted and logged; the next batch is
    written."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    inner, calls = sink._append, {"n": 0}

    def broken_once(data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        inner(data)

    sink._append = broken_once  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="openclaw_failover.audit"):
        sink.emit(record(1))
        assert sink.flush(5)
        sink.emit(record(2))
        assert sink.flush(5), "the writer thread stopped writing"
    sink.close()
    assert [line["attempt"] for line in read_audit(path)] == [2]
    assert sink.dropped == 1
    assert "RuntimeError" in caplog.text


def test_a_hanging_disk_bounds_the_queue_and_counts_what_it_drops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While a write hangs, records past max_pending are dropped and counted (the queue grew
    without bound, holding every record in memory), with one warning, not one per record."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    sink.max_pending = 100
    entered, release = stick_first_write(sink)
    try:
        with caplog.at_level(logging.WARNING, logger="openclaw_failover.audit"):
            sink.emit(record(0))
            assert entered.wait(10)
            for n in range(1, 1000):
                sink.emit(record(n))
        assert sink._queued - sink._written <= 100
        assert sink.dropped == 1000 - 100
    finally:
        release.set()
    sink.close()
    written = [line["attempt"] for line in read_audit(path)]
    assert written == list(range(100))
    assert len(written) + sink.dropped == 1000
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "queue" in warnings[0].getMessage()
    assert str(path) in warnings[0].getMessage()


def test_a_full_disk_logs_once_then_says_when_writing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """50 failed batches on a full disk give one warning (not one per batch), and the write
    that succeeds afterwards says so, with how many records were lost meanwhile."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    real_write = os.write
    full = {"on": True}

    def no_space(fd: int, data: Any) -> int:
        if full["on"]:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr("openclaw_failover._audit.os.write", no_space)
    with caplog.at_level(logging.INFO, logger="openclaw_failover.audit"):
        for n in range(50):
            sink.emit(record(n))
            assert sink.flush(5)
        assert sink.dropped == 50
        failing = [r.getMessage() for r in caplog.records]
        full["on"] = False
        sink.emit(record(50))
        sink.close()
    assert len(failing) == 1, failing
    assert "No space left on device" in failing[0]
    assert str(path) in failing[0]
    again = [r.getMessage() for r in caplog.records][1:]
    assert len(again) == 1, again
    assert "writing again" in again[0]
    assert "50 records" in again[0]
    assert [line["attempt"] for line in read_audit(path)] == [50]


def test_a_close_that_cannot_finish_says_what_it_left_unwritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """close on a hung disk returns after its timeout and says how many records it left
    unwritten (it returned silently, as if all were written)."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    entered, release = stick_first_write(sink)
    try:
        sink.emit(record(0))
        assert entered.wait(10)
        for n in range(1, 5):
            sink.emit(record(n))
        with caplog.at_level(logging.WARNING, logger="openclaw_failover.audit"):
            sink.close(timeout_s=0.2)
        assert "5 records" in caplog.text
        assert str(path) in caplog.text
    finally:
        release.set()
        sink._thread.join(10)
