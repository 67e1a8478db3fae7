"""The stream-idle deadline with one timer per stream instead of one per chunk.

``asyncio.timeout`` around every chunk costs a timer handle per chunk; this watch keeps a
single handle that re-arms itself lazily, and cancels a wait only while the stream itself is
being waited on (a slow consumer is not an idle upstream).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["IdleWatch"]

T = TypeVar("T")


class IdleWatch:
    """Raises ``TimeoutError`` from :meth:`wait` when one wait lasts ``idle_s`` or more."""

    def __init__(self, idle_s: float) -> None:
        self._idle_s = idle_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._since = 0.0
        self._waiting = False
        self._fired = False

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``; ``TimeoutError`` if it takes ``idle_s`` or longer."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under asyncio
            return await awaitable
        self._task = task
        cancelling = task.cancelling()
        self._since = loop.time()
        self._waiting = True
        if self._handle is None:
            self._handle = loop.call_at(self._since + self._idle_s, self._check)
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

    def _check(self) -> None:
        self._handle = None
        loop = self._loop
        if not self._waiting or loop is None or self._task is None:
            return  # the next wait re-arms the timer
        due = self._since + self._idle_s
        if loop.time() >= due:
            self._fired = True
            self._task.cancel()
        else:
            self._handle = loop.call_at(due, self._check)

    def close(self) -> None:
        """Drop the timer (the stream ended)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
