"""The timer heap behind ``FakeClock.call_later``: timers by virtual due time, as plain tuples
(compared in C); cancelling one clears its slot, and a heap mostly of cancelled timers is
rebuilt on a later push. ``SystemClock`` uses the event loop's own timers: the engine arms
one per engine (``_idle.Watchdog``), not one per attempt.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

__all__ = ["HeapTimer", "TimerHeap"]

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
