"""FakeClock: virtual time for tests, so cooldowns and deadlines never need real sleeps."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from .._ports import Timer
from .._timers import TimerHeap

__all__ = ["FakeClock"]


class FakeClock:
    """A :class:`~openclaw_failover._ports.Clock` whose time moves only when told.

    ``sleep`` advances virtual time at once (after yielding to the event loop once, so other
    tasks run) and appends the requested duration to :attr:`sleeps`. ``now`` and
    ``monotonic`` move together; ``monotonic`` starts at 0.

    ``call_later`` timers (the engine's first-token and stream-idle deadlines) fire when
    :meth:`advance` or :meth:`sleep` moves virtual time to their due time: each callback is
    handed to the event loop that armed it, so a test advancing from another thread is safe.
    :meth:`pending_timers` shows what is armed, so a test can check the engine is waiting on
    exactly the deadline it expects before it advances. An engine arms one timer for all its
    waits, never later than the soonest of their deadlines (a wait that ended early can leave
    it earlier; it then fires once for nothing and re-arms for the next deadline).
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._start = float(start)
        self._elapsed = 0.0
        self._timers = TimerHeap()
        self._lock = threading.Lock()
        #: Every duration passed to :meth:`sleep`, in call order.
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Virtual epoch seconds."""
        return self._start + self._elapsed

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made."""
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds`` (must not be negative); timers due by
        then are handed to their loops, soonest first."""
        if seconds < 0:
            raise ValueError(f"FakeClock.advance: seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self._elapsed += float(seconds)
            due = self._timers.pop_due(self._elapsed)
        for timer in due:
            if not timer.loop.is_closed():
                timer.loop.call_soon_threadsafe(timer.run)

    async def sleep(self, seconds: float) -> None:
        """Record ``seconds``, advance virtual time by it (at least 0) and yield once."""
        self.sleeps.append(float(seconds))
        self.advance(max(0.0, float(seconds)))
        await asyncio.sleep(0)

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback`` on the running loop once virtual time has moved ``delay_s``."""
        loop = asyncio.get_running_loop()
        with self._lock:
            return self._timers.push(self._elapsed + max(0.0, delay_s), callback, loop)

    def pending_timers(self) -> list[float]:
        """The virtual ``monotonic`` due times of the timers still armed, soonest first."""
        with self._lock:
            return self._timers.pending()

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now()!r})"
