"""Silence deadlines (first token, then stream idle) on the injected clock, with one timer per
engine instead of one per attempt, per phase or per chunk.

``asyncio.timeout`` around every chunk would cost a timer per chunk and run on the loop's own
clock. Here each wait writes its deadline into its :class:`Watchdog` when it starts and takes it
out when it ends (two dict operations), and the watchdog keeps one :meth:`Clock.call_later`
timer, armed no later than the soonest deadline it holds. Almost every wait ends long before its
deadline, so almost no wait arms anything. A wait is cancelled only while the stream itself is
being waited on (a slow consumer is not an idle upstream). With a ``FakeClock`` the deadline
fires when the test advances time. The proxy's chat endpoint also bounds each request body's
arrival with an :class:`IdleWatch`, on a watchdog of its own that keeps real time.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Protocol

from ._ports import Clock, Timer

__all__ = ["Expiring", "IdleWatch", "Watchdog"]

_NEVER = float("inf")
_current_task = asyncio.current_task


class Expiring(Protocol):
    """What a watchdog holds: something to tell when its deadline passed."""

    def expire(self) -> None: ...


class Watchdog:
    """The silence deadlines of one engine's waits, carried by one timer.

    ``live`` maps each wait in progress to its deadline (``clock.monotonic`` seconds). The
    timer is armed for ``due``, never later than the soonest of them: a wait whose deadline
    comes first re-arms it, a wait that ends early leaves it to fire once for nothing, and on
    firing it times out the waits that are due and re-arms for the soonest left. Use it from
    one event loop at a time (a wait from another loop re-arms the timer there).
    """

    __slots__ = ("_timer", "clock", "due", "live", "loop", "monotonic")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.monotonic = clock.monotonic
        self.live: dict[Expiring, float] = {}
        #: When the armed timer fires (infinity: none armed).
        self.due = _NEVER
        #: The loop the timer was armed on.
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timer: Timer | None = None

    def arm(self, due: float, loop: asyncio.AbstractEventLoop) -> None:
        """Fire at ``due`` (on ``loop``, the calling task's), instead of when armed before."""
        if self._timer is not None:
            self._timer.cancel()
        self.due = due
        self.loop = loop
        self._timer = self.clock.call_later(max(0.0, due - self.monotonic()), self._fire)

    def waiting(self) -> int:
        """How many waits are in progress."""
        return len(self.live)

    def _fire(self) -> None:
        self._timer = None
        self.due = _NEVER
        now = self.monotonic()
        soonest = _NEVER
        for watch, due in list(self.live.items()):
            if due <= now:
                del self.live[watch]
                watch.expire()
            elif due < soonest:
                soonest = due
        if soonest < _NEVER and self.loop is not None:
            self.arm(soonest, self.loop)


class IdleWatch:
    """A reusable deadline scope: ``with watch: await ...`` raises ``TimeoutError`` when that
    wait lasts its limit or longer. The first wait (up to the first token) is bounded by
    ``first_s``, every later one (the stream going quiet) by ``then_s`` (default ``first_s``).

    A plain ``with``, not ``async with``: entering and leaving await nothing, and a deadline is
    checked once per upstream chunk. Like ``asyncio.timeout``, it cancels the waiting task and
    turns its own cancellation into ``TimeoutError`` (a cancel from outside stays a cancel).
    """

    __slots__ = ("_cancelling", "_dog", "_fired", "_limit_s", "_task", "_then_s")

    def __init__(self, first_s: float, watchdog: Watchdog, *, then_s: float | None = None) -> None:
        self._limit_s = first_s
        self._then_s = first_s if then_s is None else then_s
        self._dog = watchdog
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self._fired = False

    def __enter__(self) -> None:
        task = _current_task()
        if task is None:  # pragma: no cover - asyncio always runs coroutines in tasks
            return
        self._task = task
        self._cancelling = task.cancelling()
        dog = self._dog
        due = dog.monotonic() + self._limit_s
        dog.live[self] = due
        # Re-arm for a sooner deadline, or when the timer was armed on another loop (it would
        # never fire here).
        if due < dog.due or dog.loop is not task.get_loop():
            dog.arm(due, task.get_loop())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._dog.live.pop(self, None)
        self._limit_s = self._then_s
        if self._fired and isinstance(exc, asyncio.CancelledError):
            self._fired = False
            task = self._task
            if task is not None and task.uncancel() <= self._cancelling:
                raise TimeoutError from None

    def expire(self) -> None:
        """The wait lasted its limit: cancel it (the watchdog calls this)."""
        task = self._task
        if task is not None:
            self._fired = True
            task.cancel()
