"""The real clock: wall time for persisted values, monotonic time for deadlines."""

from __future__ import annotations

import asyncio
import time

__all__ = ["SystemClock"]


class SystemClock:
    """The :class:`~openclaw_failover._ports.Clock` the engine uses outside tests."""

    __slots__ = ()

    def now(self) -> float:
        """Epoch seconds (persisted and shared between processes)."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, for deadlines only (never persisted)."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a negative value waits nothing)."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"
