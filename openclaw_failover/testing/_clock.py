"""FakeClock: virtual time for tests, so cooldowns and deadlines never need real sleeps."""

from __future__ import annotations

import asyncio

__all__ = ["FakeClock"]


class FakeClock:
    """A :class:`~openclaw_failover._ports.Clock` whose time moves only when told.

    ``sleep`` advances virtual time at once (after yielding to the event loop once, so other
    tasks run) and appends the requested duration to :attr:`sleeps`. ``now`` and
    ``monotonic`` move together; ``monotonic`` starts at 0.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._start = float(start)
        self._elapsed = 0.0
        #: Every duration passed to :meth:`sleep`, in call order.
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Virtual epoch seconds."""
        return self._start + self._elapsed

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made."""
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError(f"FakeClock.advance: seconds must be >= 0, got {seconds!r}")
        self._elapsed += float(seconds)

    async def sleep(self, seconds: float) -> None:
        """Record ``seconds``, advance virtual time by it (at least 0) and yield once."""
        self.sleeps.append(float(seconds))
        self._elapsed += max(0.0, float(seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now()!r})"
