"""The deadline timers behind Clock.call_later: heap order, cancellation, compaction, and the
idle watch built on them (driven by a FakeClock, so nothing sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from openclaw_failover._idle import IdleWatch
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


async def test_idle_watch_times_out_a_wait_at_its_deadline() -> None:
    """A wait that lasts idle_s raises TimeoutError, exactly when the clock reaches it."""
    clock = FakeClock()
    watch = IdleWatch(10.0, clock)
    never = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_wait(watch, never))
    await asyncio.sleep(0)
    clock.advance(9.5)
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(0.5)
    with pytest.raises(TimeoutError):
        await task
    assert clock.monotonic() == 10.0


async def test_idle_watch_counts_only_time_spent_waiting() -> None:
    """Time passing between waits (a slow consumer) is not idleness: each wait gets the full
    window, from one lazily re-armed timer."""
    clock = FakeClock()
    watch = IdleWatch(10.0, clock)
    loop = asyncio.get_running_loop()
    first = loop.create_future()
    first.set_result("a")
    assert await _wait(watch, first) == "a"
    clock.advance(8)  # the consumer was busy; nobody waited on the stream
    second = loop.create_future()
    task = asyncio.create_task(_wait(watch, second))
    await asyncio.sleep(0)
    clock.advance(4)  # 12 s since the timer was armed, 4 s into this wait: re-armed
    for _ in range(3):
        await asyncio.sleep(0)
    assert not task.done()
    assert clock.pending_timers() == [18.0]
    second.set_result("b")
    assert await task == "b"
    watch.close()
    assert clock.pending_timers() == []


async def test_idle_watch_leaves_an_outside_cancel_alone() -> None:
    """A cancel that is not the watch's own stays a CancelledError."""
    clock = FakeClock()
    watch = IdleWatch(10.0, clock)
    never = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_wait(watch, never))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_idle_watch_bounds_the_first_wait_by_first_s_and_later_ones_by_then_s() -> None:
    """One watch, one timer: the first wait (first token) gets first_s, each later wait
    (stream idle) then_s; the timer armed for the shorter just wakes once more."""
    clock = FakeClock()
    watch = IdleWatch(45.0, clock, then_s=15.0)
    loop = asyncio.get_running_loop()
    first = loop.create_future()
    task = asyncio.create_task(_wait(watch, first))
    await asyncio.sleep(0)
    assert clock.pending_timers() == [15.0]
    clock.advance(30)  # past then_s, short of first_s
    for _ in range(3):
        await asyncio.sleep(0)
    assert not task.done()
    assert clock.pending_timers() == [45.0]
    first.set_result("token")
    assert await task == "token"
    clock.advance(5)
    task = asyncio.create_task(_wait(watch, loop.create_future()))  # from 35 s: due at 50 s
    await asyncio.sleep(0)
    clock.advance(14.5)
    for _ in range(3):
        await asyncio.sleep(0)
    assert not task.done()
    assert clock.pending_timers() == [50.0]
    clock.advance(0.5)
    with pytest.raises(TimeoutError):
        await task
    assert clock.monotonic() == 50.0
