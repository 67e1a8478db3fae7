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


async def test_fake_timers_fire_when_advanced_to_their_due_time() -> None:
    """call_later callbacks run only once advance() reaches them, soonest first."""
    clock = FakeClock()
    fired: list[str] = []
    clock.call_later(2.0, lambda: fired.append("two"))
    clock.call_later(1.0, lambda: fired.append("one"))
    assert clock.pending_timers() == [1.0, 2.0]
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert fired == []
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert fired == ["one"]
    clock.advance(10)
    await asyncio.sleep(0)
    assert fired == ["one", "two"]
    assert clock.pending_timers() == []


async def test_fake_timer_cancel_and_sleep() -> None:
    """A cancelled timer never runs; a FakeClock sleep moves time past a due timer and runs it."""
    clock = FakeClock()
    fired: list[str] = []
    clock.call_later(1.0, lambda: fired.append("cancelled")).cancel()
    clock.call_later(3.0, lambda: fired.append("slept past"))
    assert clock.pending_timers() == [3.0]
    await clock.sleep(5)
    await asyncio.sleep(0)
    assert fired == ["slept past"]


async def test_fake_timer_advanced_from_another_thread_runs_on_its_loop() -> None:
    """advance() from a thread hands the callback to the loop that armed it."""
    clock = FakeClock()
    ran_on: list[object] = []
    clock.call_later(1.0, lambda: ran_on.append(asyncio.get_running_loop()))
    await asyncio.to_thread(clock.advance, 1.0)
    for _ in range(10):
        await asyncio.sleep(0)
    assert ran_on == [asyncio.get_running_loop()]


async def test_system_clock_timers_run_in_due_order_and_cancel() -> None:
    """SystemClock.call_later runs callbacks in due order on the loop; cancel() stops one."""
    clock = SystemClock()
    done = asyncio.Event()
    fired: list[str] = []
    clock.call_later(0.003, lambda: (fired.append("late"), done.set()))
    clock.call_later(0.001, lambda: fired.append("early"))
    clock.call_later(0.002, lambda: fired.append("cancelled")).cancel()
    await asyncio.wait_for(done.wait(), 5)
    assert fired == ["early", "late"]


async def test_system_clock_timer_that_raises_does_not_stop_the_others() -> None:
    """A failing callback goes to the loop's exception handler; later timers still run."""
    loop = asyncio.get_running_loop()
    errors: list[object] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context.get("exception")))
    clock = SystemClock()
    done = asyncio.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    clock.call_later(0.001, boom)
    clock.call_later(0.001, done.set)
    await asyncio.wait_for(done.wait(), 5)
    loop.set_exception_handler(None)
    assert [type(e) for e in errors] == [RuntimeError]
