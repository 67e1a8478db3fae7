"""FileStateStore: waiting for a lock another process holds never blocks the event loop."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from openclaw_failover._errors import StateStoreError
from openclaw_failover._ports import Health
from openclaw_failover.stores import FileStateStore
from tests.test_store_file import bump, count

KEY = "p:a"


@contextmanager
def lock_held(directory: Path) -> Iterator[int]:
    """Hold ``state.lock`` as another process would: flock on a separately opened file."""
    fd = os.open(directory / "state.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock if the test has not already


async def ticks_while(task: asyncio.Task[Health | None], limit: int = 20) -> int:
    """How many times this coroutine ran again (up to ``limit``) while ``task`` was pending."""
    ticks = 0
    while not task.done() and ticks < limit:
        await asyncio.sleep(0)
        ticks += 1
    return ticks


async def test_loop_runs_while_update_waits_and_update_lands_on_release(tmp_path: Path) -> None:
    """While the lock is busy, other coroutines (a ticker, a snapshot) run; on release the
    waiting update is written to the journal."""
    store = FileStateStore(tmp_path, lock_timeout_s=5.0, on_unavailable="closed")
    await store.update(KEY, bump)
    with lock_held(tmp_path) as fd:
        task = asyncio.create_task(store.update(KEY, bump))
        assert await ticks_while(task) == 20  # the update waits without holding the loop
        assert count((await store.snapshot([KEY]))[KEY]) == 1  # served meanwhile
        assert not task.done()
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert count(await asyncio.wait_for(task, timeout=5.0)) == 2
    assert count((await FileStateStore(tmp_path).snapshot([KEY]))[KEY]) == 2
    assert not store.degraded


async def test_thread_mutex_is_not_held_while_waiting(tmp_path: Path) -> None:
    """Another thread reads the store while an update on the loop waits for the lock."""
    store = FileStateStore(tmp_path, lock_timeout_s=5.0, on_unavailable="closed")
    await store.update(KEY, bump)
    with lock_held(tmp_path) as fd:
        task = asyncio.create_task(store.update(KEY, bump))
        await asyncio.sleep(0)
        assert not task.done()
        seen = await asyncio.wait_for(
            asyncio.to_thread(lambda: asyncio.run(store.items())), timeout=5.0
        )
        assert count(seen[KEY]) == 1
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert count(await asyncio.wait_for(task, timeout=5.0)) == 2


async def test_lock_never_released_closed_raises_after_deadline(tmp_path: Path) -> None:
    """onUnavailable "closed": the waiting update still raises once lock_timeout_s is up, and
    the loop ran meanwhile."""
    store = FileStateStore(tmp_path, lock_timeout_s=0.3, on_unavailable="closed")
    await store.update(KEY, bump)
    with lock_held(tmp_path):
        task = asyncio.create_task(store.update(KEY, bump))
        assert await ticks_while(task) == 20
        with pytest.raises(StateStoreError, match=r"lock held longer than 0\.3 s"):
            await asyncio.wait_for(task, timeout=5.0)
    assert count(await store.update(KEY, bump)) == 2  # the lock is free again


async def test_lock_never_released_local_falls_back_and_waiters_join(tmp_path: Path) -> None:
    """onUnavailable "local": after the deadline updates land in memory, none lost, including
    one that was waiting when the first gave up; once the lock is free they reach the disk."""
    store = FileStateStore(
        tmp_path, lock_timeout_s=0.3, on_unavailable="local", retry_interval_s=0.0
    )
    await store.update(KEY, bump)
    with lock_held(tmp_path):
        first = asyncio.create_task(store.update(KEY, bump))
        assert await ticks_while(first) == 20
        second = asyncio.create_task(store.update(KEY, bump))
        results = await asyncio.wait_for(asyncio.gather(first, second), timeout=5.0)
        assert sorted(count(h) for h in results) == [2, 3]
        assert store.degraded
        assert "lock held longer than 0.3 s" in (store.degraded_reason or "")
    assert count(await store.update(KEY, bump)) == 4  # recovers: merges, then writes
    assert not store.degraded
    assert count((await FileStateStore(tmp_path).snapshot([KEY]))[KEY]) == 4


async def test_recovery_waits_for_a_busy_lock_without_blocking(tmp_path: Path) -> None:
    """A degraded store's try of the disk waits for a busy lock on the loop, and merges the
    memory's writes when the lock comes free."""
    store = FileStateStore(
        tmp_path, lock_timeout_s=0.3, on_unavailable="local", retry_interval_s=60.0
    )
    await store.update(KEY, bump)
    with lock_held(tmp_path) as fd:
        assert count(await store.update(KEY, bump)) == 2  # degraded: in memory
        assert store.degraded
        store._lock_timeout_s = 5.0  # the next try of the disk waits long
        store._retry_at = 0.0  # try the disk on the next call, not in 60 s
        task = asyncio.create_task(store.update(KEY, bump))  # tries the disk first
        assert await ticks_while(task) == 20
        assert count((await store.snapshot([KEY]))[KEY]) == 2  # memory served meanwhile
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert count(await asyncio.wait_for(task, timeout=5.0)) == 3
    assert not store.degraded
    assert count((await FileStateStore(tmp_path).snapshot([KEY]))[KEY]) == 3
