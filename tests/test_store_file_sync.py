"""The file store's periodic fdatasync runs off the event loop, on a duplicate descriptor."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from openclaw_failover._ports import Health
from openclaw_failover.stores import FileStateStore


async def test_periodic_sync_runs_off_the_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write past ``fsync_interval_s`` syncs the journal on another thread, and the data
    written is readable at once (it is in the page cache before the sync)."""
    threads: list[str] = []
    real = os.fdatasync

    def recording(fd: int) -> None:
        threads.append(threading.current_thread().name)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    store = FileStateStore(tmp_path, fsync_interval_s=0.0)
    try:
        await store.update("p/m", lambda old: Health(cooldown_until=9e9, cooldown_reason="x"))
        assert (await FileStateStore(tmp_path).snapshot(["p/m"]))["p/m"].cooldown_until == 9e9
        for _ in range(100):
            if threads:
                break
            await asyncio.sleep(0.01)
    finally:
        await store.aclose()
    assert threads
    assert threads[0] != threading.main_thread().name
