"""The deadline timers behind Clock.call_later: heap order, cancellation, compaction, and the
idle watches and their watchdog built on them (driven by a FakeClock, so nothing sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from openclaw_failover._idle import IdleWatch, Watchdog
from openclaw_failover._timers import TimerHeap
from openclaw_failover.testing import FakeClock

T = TypeVar("T")


async def _wait(watch: IdleWatch, awaitable: Awaitable[T]) -> T:
    with watch:
        return await awaitable


async def test_heap_pops_due_timers_soonest_first_and_skips_cancelled() -> None:
    """pop_due returns live timers due by ``now`` in due order (ties in push order)."""
    loop = asyncio.get_running_loop()
    heap = TimerHeap()
    names: dict[object, str] = {}
    for name, due in (("c", 3.0), ("a", 1.0), ("b", 1.0), ("x", 2.0), ("late", 9.0)):
        names[heap.push(due, lambda: None, loop)] = name
    next(t for t, n in names.items() if n == "x").cancel()
    assert [names[t] for t in heap.pop_due(3.0)] == ["a", "b", "c"]
    assert heap.next_due() == 9.0
    assert heap.pending() == [9.0]


async def test_heap_compacts_cancelled_timers_and_keeps_live_ones() -> None:
    """Mostly cancelled timers are swept on a later push; every live timer survives it."""
    loop = asyncio.get_running_loop()
    heap = TimerHeap()
    timers = [heap.push(float(i), lambda: None, loop) for i in range(1000)]
    for timer in timers[:900]:
        timer.cancel()
    heap.push(5000.0, lambda: None, loop)
    assert heap.cancelled == 0
    assert heap.pending() == [float(i) for i in range(900, 1000)] + [5000.0]


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)  # a timer that came due runs, and its cancel lands


async def test_idle_watch_times_out_a_wait_at_its_deadline() -> None:
    """A wait that lasts idle_s raises TimeoutError, exactly when the clock reaches it."""
    clock = FakeClock()
    watch = IdleWatch(10.0, Watchdog(clock))
    never = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_wait(watch, never))
    await asyncio.sleep(0)
    clock.advance(9.5)
    await _settle()
    assert not task.done()
    clock.advance(0.5)
    with pytest.raises(TimeoutError):
        await task
    assert clock.monotonic() == 10.0


async def test_idle_watch_counts_only_time_spent_waiting() -> None:
    """Time passing between waits (a slow consumer) is not idleness: each wait gets the full
    window. The timer armed for the first wait fires once for nothing and re-arms for the
    second wait's own deadline."""
    clock = FakeClock()
    dog = Watchdog(clock)
    watch = IdleWatch(10.0, dog)
    loop = asyncio.get_running_loop()
    first = loop.create_future()
    first.set_result("a")
    assert await _wait(watch, first) == "a"
    assert dog.waiting() == 0
    assert clock.pending_timers() == [10.0]  # left armed: it fires once for nothing
    clock.advance(8)  # the consumer was busy; nobody waited on the stream
    second = loop.create_future()
    task = asyncio.create_task(_wait(watch, second))
    await asyncio.sleep(0)
    assert dog.waiting() == 1
    clock.advance(4)  # 12 s: the first deadline passed, 4 s into this wait
    await _settle()
    assert not task.done()
    assert clock.pending_timers() == [18.0]
    second.set_result("b")
    assert await task == "b"
    clock.advance(10)  # past 18 s with nobody waiting: the timer fires and arms nothing
    await _settle()
    assert clock.pending_timers() == []
    assert dog.waiting() == 0


async def test_idle_watch_leaves_an_outside_cancel_alone() -> None:
    """A cancel that is not the watch's own stays a CancelledError, and the wait is gone
    from the watchdog."""
    clock = FakeClock()
    dog = Watchdog(clock)
    watch = IdleWatch(10.0, dog)
    never = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_wait(watch, never))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dog.waiting() == 0


async def test_idle_watch_bounds_the_first_wait_by_first_s_and_later_ones_by_then_s() -> None:
    """The first wait (first token) gets first_s, each later wait (stream idle) then_s."""
    clock = FakeClock()
    watch = IdleWatch(45.0, Watchdog(clock), then_s=15.0)
    loop = asyncio.get_running_loop()
    first = loop.create_future()
    task = asyncio.create_task(_wait(watch, first))
    await asyncio.sleep(0)
    assert clock.pending_timers() == [45.0]
    clock.advance(30)  # past then_s, short of first_s
    await _settle()
    assert not task.done()
    first.set_result("token")
    assert await task == "token"
    clock.advance(5)
    task = asyncio.create_task(_wait(watch, loop.create_future()))  # from 35 s: due at 50 s
    await asyncio.sleep(0)
    assert clock.pending_timers() == [45.0]  # still the first wait's: 50 s is later
    clock.advance(14.5)
    await _settle()
    assert not task.done()
    assert clock.pending_timers() == [50.0]  # the first wait's timer fired at 45 s, re-armed
    clock.advance(0.5)
    with pytest.raises(TimeoutError):
        await task
    assert clock.monotonic() == 50.0


async def test_one_timer_carries_waits_with_different_deadlines() -> None:
    """Waits on one watchdog each time out at their own deadline, soonest first, from a
    single armed timer; a wait with an earlier deadline than the armed one re-arms it."""
    clock = FakeClock()
    dog = Watchdog(clock)
    loop = asyncio.get_running_loop()
    slow = asyncio.create_task(_wait(IdleWatch(30.0, dog), loop.create_future()))
    await asyncio.sleep(0)
    quick = asyncio.create_task(_wait(IdleWatch(10.0, dog), loop.create_future()))
    later = asyncio.create_task(_wait(IdleWatch(20.0, dog), loop.create_future()))
    await asyncio.sleep(0)
    assert dog.waiting() == 3
    assert clock.pending_timers() == [10.0]  # one timer, for the soonest
    clock.advance(10)
    with pytest.raises(TimeoutError):
        await quick
    await _settle()
    assert not later.done()
    assert not slow.done()
    assert clock.pending_timers() == [20.0]
    clock.advance(9.9)
    await _settle()
    assert not later.done()
    clock.advance(0.1)
    with pytest.raises(TimeoutError):
        await later
    await _settle()
    assert not slow.done()
    assert clock.pending_timers() == [30.0]
    clock.advance(10)
    with pytest.raises(TimeoutError):
        await slow
    assert dog.waiting() == 0


def test_a_watchdog_used_from_a_new_loop_re_arms_there() -> None:
    """A timer armed on a loop that has since closed never fires; the first wait on the next
    loop arms one there, even though its deadline is later than the dead timer's."""
    clock = FakeClock()
    dog = Watchdog(clock)

    async def short_wait() -> None:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        await _wait(IdleWatch(10.0, dog), done)

    asyncio.run(short_wait())  # leaves the timer armed for 10 s on a loop now closed

    async def hang() -> float:
        clock.advance(1)
        task = asyncio.create_task(_wait(IdleWatch(10.0, dog), asyncio.Future()))
        await asyncio.sleep(0)
        clock.advance(10)  # the dead loop's timer is due too, and dropped
        done, _ = await asyncio.wait([task], timeout=5.0)  # real seconds: only a hang guard
        assert done, "the deadline never fired on the new loop"
        with pytest.raises(TimeoutError):
            await task
        return clock.monotonic()

    assert asyncio.run(hang()) == 11.0
