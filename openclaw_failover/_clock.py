"""The real clock: wall time for persisted values, monotonic time for deadlines and timers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ._ports import Timer

__all__ = ["SystemClock"]


class SystemClock:
    """The :class:`~openclaw_failover._ports.Clock` the engine uses outside tests.

    ``now()`` is ``time.time`` (epoch seconds, persisted and shared between processes) and
    ``monotonic()`` is ``time.monotonic`` (deadlines only, never persisted): the builtins
    themselves, so a reading costs no Python call of its own.
    """

    __slots__ = ()

    now = staticmethod(time.time)
    monotonic = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a negative value waits nothing)."""
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback`` on the running loop in ``delay_s`` seconds (an asyncio timer: the
        engine keeps one for all its deadlines, see ``_idle.Watchdog``)."""
        return asyncio.get_running_loop().call_later(max(0.0, delay_s), callback)

    def __repr__(self) -> str:
        return "SystemClock()"
