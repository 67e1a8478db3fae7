"""JsonlAuditSink: off-path writes, rotation, 0600, nothing lost on close; read_audit's repairs."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover import _audit as audit_module
from openclaw_failover._audit import (
    AuditReadStats,
    JsonlAuditSink,
    audit_paths,
    read_audit,
)
from openclaw_failover._ports import AuditRecord

ROOT = Path(__file__).resolve().parents[1]


def record(n: int, **fields: Any) -> AuditRecord:
    """An attempt record numbered by ``attempt``."""
    return AuditRecord(event="attempt", ts=1_800_000_000.0 + n, attempt=n, **fields)


def test_lines_are_record_json_in_order(tmp_path: Path) -> None:
    """Each emitted record becomes one line equal to AuditRecord.to_json, in emit order."""
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")
    records = [record(n, provider="openai", tools_blocked=("exec",)) for n in range(50)]
    for r in records:
        sink.emit(r)
    sink.close()
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [r.to_json() for r in records]


def stick_first_write(sink: JsonlAuditSink) -> tuple[threading.Event, threading.Event]:
    """Make the sink's first write hang (a disk that stops answering) until ``release`` is set;
    ``entered`` is set once the writer thread is in it. Returns (entered, release)."""
    inner, entered, release = sink._append, threading.Event(), threading.Event()

    def stuck_append(data: bytes) -> None:
        if not entered.is_set():  # only the first write sticks (a synchronous emit fails fast)
            entered.set()
            release.wait(10)
        inner(data)

    sink._append = stuck_append  # type: ignore[method-assign]
    return entered, release


def test_emit_returns_at_once(tmp_path: Path) -> None:
    """10,000 emits return while the writer thread is stuck in a write: no I/O on the caller."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    entered, release = stick_first_write(sink)
    try:
        sink.emit(record(0))
        assert entered.wait(10), "the writer thread never picked up the first record"
        for n in range(1, 10_000):
            sink.emit(record(n))
        assert not path.exists() or path.read_bytes() == b""  # every emit returned unwritten
    finally:
        release.set()
    sink.close()
    assert len(path.read_bytes().splitlines()) == 10_000


def test_file_is_0600_and_new_folder_0700(tmp_path: Path) -> None:
    """The audit file is created 0600 and a missing parent folder 0700."""
    path = tmp_path / "failover" / "audit.jsonl"
    sink = JsonlAuditSink(path)
    sink.emit(record(1))
    sink.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_existing_loose_file_is_tightened(tmp_path: Path) -> None:
    """An existing audit file readable by others is set back to 0600."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    path.chmod(0o644)
    sink = JsonlAuditSink(path)
    sink.emit(record(1))
    sink.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotation_by_size_keeps_n_copies(tmp_path: Path) -> None:
    """Past max_bytes the file rotates to .1, .2 ... .keep; older copies are dropped."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path, max_bytes=2000, keep=2)
    for n in range(60):
        sink.emit(record(n))
        sink.flush()
    sink.close()
    assert sorted(p.name for p in tmp_path.glob("audit.jsonl*")) == [
        "audit.jsonl",
        "audit.jsonl.1",
        "audit.jsonl.2",
        "audit.jsonl.lock",
    ]
    for p in audit_paths(path):
        assert p.stat().st_size <= 2000
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    attempts = [line["attempt"] for p in audit_paths(path) for line in read_audit(p)]
    assert attempts == sorted(attempts)
    assert attempts[-1] == 59


def test_keep_zero_starts_afresh(tmp_path: Path) -> None:
    """With keep=0 a full file is replaced by a new one and no copies pile up."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path, max_bytes=1000, keep=0)
    for n in range(30):
        sink.emit(record(n))
        sink.flush()
    sink.close()
    assert [p.name for p in audit_paths(path)] == ["audit.jsonl"]
    assert path.stat().st_size <= 1000


def test_bad_sizes_are_refused() -> None:
    """max_bytes <= 0 or keep < 0 is a ValueError naming both values."""
    with pytest.raises(ValueError, match="max_bytes"):
        JsonlAuditSink("/nonexistent/audit.jsonl", max_bytes=0, keep=1)


async def test_aclose_writes_everything_queued(tmp_path: Path) -> None:
    """aclose returns only after every queued record is on disk; a second aclose is harmless."""
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")
    for n in range(5000):
        sink.emit(record(n))
    await sink.aclose()
    await sink.aclose()
    assert len(list(read_audit(tmp_path / "audit.jsonl"))) == 5000


def test_emit_after_close_is_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record emitted after close is counted in .dropped and logged, never raised."""
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")
    sink.close()
    with caplog.at_level(logging.WARNING, logger="openclaw_failover.audit"):
        sink.emit(record(1))
    assert sink.dropped == 1
    assert "closed" in caplog.text


def test_unwritable_path_drops_without_raising(tmp_path: Path) -> None:
    """When the file cannot be opened, records are dropped and counted; emit never raises."""
    (tmp_path / "blocker").write_text("x")
    sink = JsonlAuditSink(tmp_path / "blocker" / "audit.jsonl")
    sink.emit(record(1))
    sink.close()
    assert sink.dropped == 1


def test_a_short_write_on_a_full_disk_takes_no_later_record_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills mid-write leaves a fragment; the batch is dropped and counted, and
    the next record, once there is room, starts on a line of its own (it was glued onto the
    fragment, and the reader skipped both)."""
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    sink.emit(record(1))
    assert sink.flush()
    real_write = audit_module.os.write
    full = {"on": True}

    def short_then_full(fd: int, data: Any) -> int:
        if full["on"]:
            full["on"] = False
            real_write(fd, bytes(data[:10]))
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(audit_module.os, "write", short_then_full)
    sink.emit(record(2))
    assert sink.flush()
    sink.emit(record(3))
    sink.close()
    stats = AuditReadStats()
    assert [line["attempt"] for line in read_audit(path, stats=stats)] == [1, 3]
    assert sink.dropped == 1
    assert stats.skipped == 1


def test_read_audit_skips_a_torn_last_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A half-written last line is skipped, counted as torn and logged, not raised."""
    path = tmp_path / "audit.jsonl"
    whole = json.dumps(record(1).to_json())
    path.write_text(whole + "\n" + whole[: len(whole) // 2])
    stats = AuditReadStats()
    with caplog.at_level(logging.WARNING, logger="openclaw_failover.audit"):
        lines = list(read_audit(path, stats=stats))
    assert [line["attempt"] for line in lines] == [1]
    assert (stats.lines, stats.skipped, stats.torn_tail) == (1, 1, True)
    assert "torn last line" in caplog.text


def test_read_audit_skips_damaged_middle_lines(tmp_path: Path) -> None:
    """A garbage line in the middle is skipped; the lines after it are still read."""
    path = tmp_path / "audit.jsonl"
    good = json.dumps(record(1).to_json())
    path.write_text(f"{good}\nnot json\n[1, 2]\n\n{good}\n")
    stats = AuditReadStats()
    assert len(list(read_audit(path, stats=stats))) == 2
    assert (stats.skipped, stats.torn_tail) == (2, False)


WRITER = textwrap.dedent(
    """
    import sys
    from openclaw_failover._audit import JsonlAuditSink
    from openclaw_failover._ports import AuditRecord

    sink = JsonlAuditSink(sys.argv[1], max_bytes=int(sys.argv[3]), keep=50)
    for n in range(int(sys.argv[2])):
        sink.emit(AuditRecord(event="attempt", ts=float(n), instance=sys.argv[4], attempt=n))
    sink.close()
    """
)


def test_processes_sharing_one_file_lose_and_mix_no_line(tmp_path: Path) -> None:
    """4 processes appending 2,000 lines each with rotation: 8,000 whole lines, none torn."""
    path = tmp_path / "audit.jsonl"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), "2000", "200000", f"gw{n}"], cwd=ROOT
        )
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    stats = AuditReadStats()
    lines = [line for p in audit_paths(path) for line in read_audit(p, stats=stats)]
    assert stats.skipped == 0
    assert len(lines) == 8000
    for n in range(4):
        assert sorted(x["attempt"] for x in lines if x["instance"] == f"gw{n}") == list(range(2000))
    assert len(audit_paths(path)) > 1


def test_kill_9_leaves_at_most_a_torn_last_line(tmp_path: Path) -> None:
    """A writer killed mid-stream leaves a file whose every line but possibly the last parses."""
    path = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "10000000", str(1 << 40), "gw"], cwd=ROOT
    )
    deadline = time.monotonic() + 30
    while (not path.exists() or path.stat().st_size < 200_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait(10)
    stats = AuditReadStats()
    count = sum(1 for _ in read_audit(path, stats=stats))
    assert count > 100
    assert stats.skipped <= 1
    assert stats.skipped == int(stats.torn_tail)


def test_a_restarted_writer_starts_after_a_torn_line(tmp_path: Path) -> None:
    """A sink opening a file that ends in a torn line (a writer killed mid-write) starts on a
    new line: the torn fragment is the only line lost, not the next process's first record."""
    path = tmp_path / "audit.jsonl"
    whole = json.dumps(record(1).to_json())
    path.write_text(whole + "\n" + whole[: len(whole) // 2])
    sink = JsonlAuditSink(path)
    sink.emit(record(2))
    sink.close()
    stats = AuditReadStats()
    assert [line["attempt"] for line in read_audit(path, stats=stats)] == [1, 2]
    assert (stats.skipped, stats.torn_tail) == (1, False)


def test_interpreter_exit_flushes_an_unclosed_sink(tmp_path: Path) -> None:
    """A program that never closes its sink still finds every record on disk after exit."""
    script = WRITER.replace("sink.close()", "")
    path = tmp_path / "audit.jsonl"
    subprocess.run(
        [sys.executable, "-c", script, str(path), "3000", str(1 << 30), "gw"],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert len(list(read_audit(path))) == 3000


def _count_puts(sink: JsonlAuditSink) -> list[int]:
    """Wrap the sink's hand-over to the writer thread; the list grows by each batch's size."""
    sizes: list[int] = []
    put = sink._put

    def counting(records: list[AuditRecord]) -> None:
        sizes.append(len(records))
        put(records)

    sink._put = counting  # type: ignore[method-assign]
    return sizes


async def test_records_of_one_interval_wake_the_writer_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records emitted on an event loop within HAND_OVER_S reach the writer thread as one
    batch (one wake-up, not one per record), in emit order; later ones make a new batch."""
    monkeypatch.setattr(audit_module, "HAND_OVER_S", 0.2)  # no stall of a busy machine splits it
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")
    sizes = _count_puts(sink)
    for n in range(5):
        sink.emit(record(n))
        await asyncio.sleep(0)  # other loop iterations within the interval
    for n in range(5, 10):
        sink.emit(record(n))
    assert sizes == []
    await asyncio.sleep(0.5)
    assert sizes == [10]
    sink.emit(record(10))
    await asyncio.sleep(0.5)
    assert sizes == [10, 1]
    await sink.aclose()
    assert [line["attempt"] for line in read_audit(tmp_path / "audit.jsonl")] == list(range(11))


async def test_flush_and_close_hand_over_what_the_loop_still_holds(tmp_path: Path) -> None:
    """A flush (or close) right after an emit, in the same loop iteration, still writes it."""
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")
    sink.emit(record(1))
    assert sink.flush(5)
    assert [line["attempt"] for line in read_audit(tmp_path / "audit.jsonl")] == [1]
    sink.emit(record(2))
    sink.close()
    assert [line["attempt"] for line in read_audit(tmp_path / "audit.jsonl")] == [1, 2]


def test_records_of_a_loop_that_stopped_are_not_lost(tmp_path: Path) -> None:
    """A loop that ends before its hand-over ran leaves its records to the next emitter (or
    close); records from a thread with no loop go to the writer at once."""
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")

    async def emit_and_leave(n: int) -> None:
        sink.emit(record(n))  # the hand-over is scheduled; the loop stops first

    loop = asyncio.new_event_loop()
    loop.run_until_complete(emit_and_leave(1))
    loop.close()
    asyncio.run(emit_and_leave(2))  # a new loop takes over and hands over the old record
    other = threading.Thread(target=sink.emit, args=(record(3),))
    other.start()
    other.join()
    sink.close()
    assert sorted(line["attempt"] for line in read_audit(tmp_path / "audit.jsonl")) == [1, 2, 3]
