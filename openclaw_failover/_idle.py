"""Silence deadlines (first token, then stream idle) on the injected clock, with one timer per
attempt instead of one per chunk or per phase.

``asyncio.timeout`` around every chunk would cost a timer per chunk and run on the loop's own
clock; this watch keeps a single :meth:`Clock.call_later` timer that re-arms itself lazily, and
cancels a wait only while the stream itself is being waited on (a slow consumer is not an idle
upstream). With a ``FakeClock`` the deadline fires when the test advances time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from ._ports import Clock, Timer

__all__ = ["IdleWatch"]

T = TypeVar("T")


class IdleWatch:
    """Raises ``TimeoutError`` from :meth:`wait` when a wait lasts its limit or longer: the
    first wait (up to the first token) is bounded by ``first_s``, every later one (the stream
    going quiet) by ``then_s`` (default ``first_s``).

    The one timer is armed for the shorter of the two, so the switch never needs a new one;
    when the first token takes longer than ``then_s``, the timer just wakes once more.
    """

    def __init__(self, first_s: float, clock: Clock, *, then_s: float | None = None) -> None:
        self._limit_s = first_s
        self._then_s = first_s if then_s is None else then_s
        self._clock = clock
        self._task: asyncio.Task[object] | None = None
        self._timer: Timer | None = None
        self._since = 0.0
        self._waiting = False
        self._fired = False

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``; ``TimeoutError`` if it takes ``idle_s`` or longer."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under asyncio
            return await awaitable
        self._task = task
        cancelling = task.cancelling()
        self._since = self._clock.monotonic()
        self._waiting = True
        if self._timer is None:
            self._timer = self._clock.call_later(min(self._limit_s, self._then_s), self._check)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if self._fired:
                self._fired = False
                if task.uncancel() <= cancelling:
                    raise TimeoutError from None
            raise
        finally:
            self._waiting = False
            self._limit_s = self._then_s

    def _check(self) -> None:
        self._timer = None
        if not self._waiting or self._task is None:
            return  # the next wait re-arms the timer
        remaining = self._since + self._limit_s - self._clock.monotonic()
        if remaining <= 0:
            self._fired = True
            self._task.cancel()
        else:
            self._timer = self._clock.call_later(remaining, self._check)

    def close(self) -> None:
        """Drop the timer (the stream ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
