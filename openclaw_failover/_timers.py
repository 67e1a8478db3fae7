"""Deadline timers behind ``Clock.call_later``: a heap of plain tuples, and one event loop's
timers carried by a single asyncio timer.

Every attempt arms a first-token deadline and every answer a stream-idle deadline, and almost
all of them are cancelled microseconds later. An asyncio ``TimerHandle`` per deadline costs a
context copy, a heap push ordered by a Python ``__lt__`` and a cancelled-handle sweep; here a
deadline is one tuple pushed on a heap (compared in C) and cancelling it clears one slot.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

__all__ = ["HeapTimer", "LoopTimers", "TimerHeap"]

#: Rebuild the heap once this many cancelled timers make up more than half of it.
_COMPACT_MIN = 64


class HeapTimer:
    """One pending callback; ``cancel`` makes it a no-op (idempotent, never raises)."""

    __slots__ = ("_heap", "callback", "loop")

    def __init__(
        self,
        callback: Callable[[], object],
        loop: asyncio.AbstractEventLoop,
        heap: TimerHeap,
    ) -> None:
        self.callback: Callable[[], object] | None = callback
        self.loop = loop
        self._heap = heap

    def cancel(self) -> None:
        """Drop the callback; a timer that already ran or was cancelled stays as it is."""
        if self.callback is not None:
            self.callback = None
            self._heap.cancelled += 1

    def run(self) -> None:
        """Call the callback once, unless cancelled in the meantime."""
        callback = self.callback
        if callback is not None:
            self.callback = None
            callback()


class TimerHeap:
    """Timers by due time (any monotonic time base the owner picks). Not thread-safe."""

    __slots__ = ("_entries", "_seq", "cancelled")

    def __init__(self) -> None:
        self._entries: list[tuple[float, int, HeapTimer]] = []
        self._seq = itertools.count()
        self.cancelled = 0

    def push(
        self, due: float, callback: Callable[[], object], loop: asyncio.AbstractEventLoop
    ) -> HeapTimer:
        """A timer for ``callback`` at ``due``, to be run on ``loop``."""
        if self.cancelled > _COMPACT_MIN and self.cancelled * 2 > len(self._entries):
            self._compact()
        timer = HeapTimer(callback, loop, self)
        heapq.heappush(self._entries, (due, next(self._seq), timer))
        return timer

    def next_due(self) -> float | None:
        """The due time of the soonest live timer (cancelled ones at the head are dropped)."""
        entries = self._entries
        while entries and entries[0][2].callback is None:
            heapq.heappop(entries)
            self.cancelled -= 1
        return entries[0][0] if entries else None

    def pop_due(self, now: float) -> list[HeapTimer]:
        """Remove and return the live timers due at ``now`` or earlier, soonest first."""
        entries = self._entries
        due: list[HeapTimer] = []
        while entries and entries[0][0] <= now:
            timer = heapq.heappop(entries)[2]
            if timer.callback is None:
                self.cancelled -= 1
            else:
                due.append(timer)
        return due

    def pending(self) -> list[float]:
        """The due times of every live timer, soonest first."""
        return sorted(d for d, _, t in self._entries if t.callback is not None)

    def _compact(self) -> None:
        self._entries = [e for e in self._entries if e[2].callback is not None]
        heapq.heapify(self._entries)
        self.cancelled = 0


class LoopTimers:
    """One event loop's deadline timers on ``time.monotonic``, carried by one asyncio timer
    armed for the soonest live one. Use from the loop's own thread only."""

    __slots__ = ("_armed", "_armed_due", "_heap", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap = TimerHeap()
        self._armed: asyncio.TimerHandle | None = None
        self._armed_due = float("inf")

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> HeapTimer:
        """Run ``callback`` on the loop ``delay_s`` seconds from now."""
        due = time.monotonic() + delay_s
        timer = self._heap.push(due, callback, self.loop)
        if due < self._armed_due:
            self._arm(due)
        return timer

    def _arm(self, due: float) -> None:
        if self._armed is not None:
            self._armed.cancel()
        self._armed_due = due
        # A relative delay: the loop's own time base may differ (uvloop counts milliseconds).
        self._armed = self.loop.call_later(max(0.0, due - time.monotonic()), self._fire)

    def _fire(self) -> None:
        self._armed, self._armed_due = None, float("inf")
        for timer in self._heap.pop_due(time.monotonic()):
            # Each callback as its own loop callback: one that raises is reported by the loop
            # and does not keep the others from running.
            self.loop.call_soon(timer.run)
        soonest = self._heap.next_due()
        if soonest is not None:
            self._arm(soonest)
