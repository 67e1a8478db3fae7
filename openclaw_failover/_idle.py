"""Silence deadlines (first token, then stream idle) on the injected clock, with one timer per
attempt instead of one per chunk or per phase.

``asyncio.timeout`` around every chunk would cost a timer per chunk and run on the loop's own
clock; this watch keeps a single :meth:`Clock.call_later` timer that re-arms itself lazily, and
cancels a wait only while the stream itself is being waited on (a slow consumer is not an idle
upstream). With a ``FakeClock`` the deadline fires when the test advances time.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from ._ports import Clock, Timer

__all__ = ["IdleWatch"]


class IdleWatch:
    """A reusable deadline scope: ``with watch: await ...`` raises ``TimeoutError`` when that
    wait lasts its limit or longer. The first wait (up to the first token) is bounded by
    ``first_s``, every later one (the stream going quiet) by ``then_s`` (default ``first_s``).

    A plain ``with``, not ``async with``: entering and leaving await nothing, and a deadline is
    checked once per upstream chunk. The one timer is armed for the shorter of the two limits,
    so the switch never needs a new one; when the first token takes longer than ``then_s``, the
    timer just wakes once more. Like ``asyncio.timeout``, it cancels the waiting task and turns
    its own cancellation into ``TimeoutError`` (a cancel from outside stays a cancel).
    """

    __slots__ = (
        "_cancelling",
        "_clock",
        "_fired",
        "_limit_s",
        "_since",
        "_task",
        "_then_s",
        "_timer",
        "_waiting",
    )

    def __init__(self, first_s: float, clock: Clock, *, then_s: float | None = None) -> None:
        self._limit_s = first_s
        self._then_s = first_s if then_s is None else then_s
        self._clock = clock
        self._task: asyncio.Task[object] | None = None
        self._timer: Timer | None = None
        self._since = 0.0
        self._cancelling = 0
        self._waiting = False
        self._fired = False

    def __enter__(self) -> None:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - asyncio always runs coroutines in tasks
            return
        self._task = task
        self._cancelling = task.cancelling()
        self._since = self._clock.monotonic()
        self._waiting = True
        if self._timer is None:
            limit_s, then_s = self._limit_s, self._then_s
            delay_s = limit_s if limit_s < then_s else then_s
            self._timer = self._clock.call_later(delay_s, self._check)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._waiting = False
        self._limit_s = self._then_s
        if self._fired and isinstance(exc, asyncio.CancelledError):
            self._fired = False
            task = self._task
            if task is not None and task.uncancel() <= self._cancelling:
                raise TimeoutError from None

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
