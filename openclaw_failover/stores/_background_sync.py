"""The file store's periodic fdatasync of its journal, run off the event loop.

Only :class:`~openclaw_failover.stores.file.FileStateStore` uses it, at most every
``fsync_interval_s`` after a write (compaction and close sync on their own).
"""

from __future__ import annotations

import asyncio
import logging
import os

from ._journal import Journal

__all__ = ["sync_in_background"]

_log = logging.getLogger("openclaw_failover.stores")


def sync_in_background(journal: Journal) -> None:
    """fdatasync the journal on the loop's executor: a sync can take tens of milliseconds, and
    every request on the event loop would wait for it (the append is already in the page
    cache, so a process crash loses nothing meanwhile)."""
    fd = journal.dup_fd()
    if fd is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (a synchronous caller): sync here
        _sync_and_close(fd)
        return
    loop.run_in_executor(None, _sync_and_close, fd)


def _sync_and_close(fd: int) -> None:
    try:
        os.fdatasync(fd)
    except OSError as exc:
        _log.warning("state store: background fdatasync failed: %s", exc.strerror)
    finally:
        os.close(fd)
