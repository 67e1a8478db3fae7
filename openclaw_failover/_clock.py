"""The real clock: wall time for persisted values, monotonic time for deadlines and timers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ._ports import Timer
from ._timers import LoopTimers

__all__ = ["SystemClock"]


class SystemClock:
    """The :class:`~openclaw_failover._ports.Clock` the engine uses outside tests.

    ``now()`` is ``time.time`` (epoch seconds, persisted and shared between processes) and
    ``monotonic()`` is ``time.monotonic`` (deadlines only, never persisted): the builtins
    themselves, so a reading costs no Python call of its own.
    """

    __slots__ = ("_timers",)

    now = staticmethod(time.time)
    monotonic = staticmethod(time.monotonic)

    def __init__(self) -> None:
        self._timers: LoopTimers | None = None

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a negative value waits nothing)."""
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback`` on the running loop in ``delay_s`` seconds (one asyncio timer
        carries every deadline of the loop; see ``_timers``)."""
        loop = asyncio.get_running_loop()
        timers = self._timers
        if timers is None or timers.loop is not loop:  # first use, or another loop
            timers = self._timers = LoopTimers(loop)
        return timers.call_later(delay_s, callback)

    def __repr__(self) -> str:
        return "SystemClock()"
