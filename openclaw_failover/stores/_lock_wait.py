"""Waiting for ``state.lock`` while another process holds it, without blocking the event loop.

Only :class:`~openclaw_failover.stores.file.FileStateStore` uses it. Its first try of the lock
is one non-blocking ``flock``; while another process holds the lock (a gateway stopped with
SIGSTOP, or stuck on a slow disk), it tries again after each :meth:`LockWait.pause`: an
``asyncio.sleep`` that doubles from ``LOCK_WAIT_FIRST_S`` up to ``LOCK_WAIT_MAX_S``, so other
requests are served meanwhile, until the store's ``lock_timeout_s`` has passed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Final

from .._errors import StateStoreError

__all__ = ["BUSY", "LOCK_WAIT_FIRST_S", "LOCK_WAIT_MAX_S", "Busy", "LockWait"]

#: The first and the longest pause between two tries of a busy lock (the pause doubles).
LOCK_WAIT_FIRST_S: Final = 0.0005
LOCK_WAIT_MAX_S: Final = 0.05


class Busy:
    """What a try of the lock returns while another process holds it."""


BUSY: Final = Busy()


class LockWait:
    """The pauses between tries of a busy lock: doubling up to ``LOCK_WAIT_MAX_S``, on the
    event loop (``asyncio.sleep``), until ``timeout_s`` has passed."""

    def __init__(self, directory: Path, timeout_s: float) -> None:
        self._directory = directory
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._pause_s = LOCK_WAIT_FIRST_S

    async def pause(self) -> None:
        """Sleep before the next try; raise :class:`StateStoreError` once the time is up."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise StateStoreError(
                f"state store {self._directory}: lock held longer than {self._timeout_s} s "
                "by another process"
            )
        await asyncio.sleep(min(self._pause_s, left))
        self._pause_s = min(self._pause_s * 2, LOCK_WAIT_MAX_S)
