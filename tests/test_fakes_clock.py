"""FakeClock, SystemClock and CapturingAuditSink behave as the Clock and AuditSink seams say."""

from __future__ import annotations

import asyncio

import pytest

from openclaw_failover._clock import SystemClock
from openclaw_failover._ports import AuditRecord, Clock
from openclaw_failover.testing import CapturingAuditSink, FakeClock


def test_fake_clock_starts_at_the_given_epoch() -> None:
    """now() starts at ``start`` and monotonic() at 0."""
    clock = FakeClock(start=1000.0)
    assert (clock.now(), clock.monotonic()) == (1000.0, 0.0)


def test_advance_moves_now_and_monotonic_together() -> None:
    """advance() moves both readings by the same amount."""
    clock = FakeClock()
    start = clock.now()
    clock.advance(12.5)
    assert (clock.now() - start, clock.monotonic()) == (12.5, 12.5)


def test_advance_refuses_going_back() -> None:
    """A negative advance is an error naming the value."""
    with pytest.raises(ValueError, match="-1"):
        FakeClock().advance(-1)


async def test_sleep_is_instant_and_recorded() -> None:
    """sleep() advances virtual time without waiting and records each duration."""
    clock = FakeClock()
    started = asyncio.get_running_loop().time()
    await clock.sleep(3600)
    await clock.sleep(-2)
    assert clock.sleeps == [3600.0, -2.0]
    assert clock.monotonic() == 3600.0
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_sleep_lets_other_tasks_run() -> None:
    """A FakeClock sleep yields to the loop so a concurrent task makes progress."""
    clock = FakeClock()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    await clock.sleep(1)
    assert ran == ["other"]
    await task


async def test_both_clocks_satisfy_the_clock_protocol() -> None:
    """SystemClock and FakeClock are usable wherever a Clock is expected."""
    clocks: list[Clock] = [SystemClock(), FakeClock()]
    for clock in clocks:
        await clock.sleep(0)
        assert clock.now() > 1e9
    assert SystemClock().monotonic() <= SystemClock().monotonic()


def test_capturing_sink_keeps_records_in_order() -> None:
    """emit() appends to .records; events() filters by event; clear() empties."""
    sink = CapturingAuditSink()
    sink.emit(AuditRecord(event="attempt", ts=1.0))
    sink.emit(AuditRecord(event="outcome", ts=2.0, outcome="answered"))
    assert [r.event for r in sink.records] == ["attempt", "outcome"]
    assert [r.ts for r in sink.events("outcome")] == [2.0]
    sink.clear()
    assert sink.records == []


async def test_capturing_sink_aclose_marks_closed() -> None:
    """aclose() marks the sink closed and keeps what it captured."""
    sink = CapturingAuditSink()
    sink.emit(AuditRecord(event="probe", ts=1.0))
    await sink.aclose()
    assert sink.closed
    assert len(sink.records) == 1
