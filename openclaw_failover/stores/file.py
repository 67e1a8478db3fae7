"""FileStateStore: health state in an append-only, checksummed journal shared by processes.

Layout under the directory (0700): ``state.journal`` (0600) holds one line per write,
``<crc32 hex> <json>\\n`` with ``{"k": key, "h": health-or-null}``; ``state.lock`` is the
``flock`` target that serialises writers (a separate file, so compaction can replace the
journal without breaking anyone's lock) and holds the write counter.

- **Atomic, no lost update:** ``update`` takes the exclusive lock, catches up on records
  other processes appended, applies ``fn`` (with :func:`forward_only`), appends one record and
  unlocks. Readers take no lock.
- **kill -9 at any moment:** an append cut short leaves a torn last line, which fails its
  checksum and is ignored; the next writer truncates it away before appending. Compaction
  writes a temp file, fsyncs it and renames it over the journal (then fsyncs the directory), so
  a crash leaves either the old journal or the new one, never half of one.
- **Fast:** the parsed state is cached with the journal's (inode, size). Every writer
  bumps a write counter kept in the lock file's first 8 bytes, which every process maps into
  memory (``_counter``); a snapshot with no change reads those 8 bytes and makes no system
  call, and looks the journal's path up every ``PATH_RECHECK_S`` all the same. Without the
  counter (no writer yet) it checks the open journal's size with one ``lseek``; a compaction
  marks the file it replaces, so readers that have it open see the new journal at once. A
  change costs reading only the new records. While nothing changed, the same key tuple gets
  the same snapshot back.
- **Durability:** appends are in the page cache at once (enough for process crashes); the
  journal is fdatasync'ed at most every ``fsync_interval_s`` (on the loop's executor, off the
  event loop) and at compaction and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from .._errors import StateStoreError
from .._ports import Health, HealthUpdate
from ._counter import WriteCounter
from ._journal import Journal
from ._memo import SnapshotMemo
from .memory import forward_only

__all__ = ["FileStateStore"]

_log = logging.getLogger("openclaw_failover.stores")

JOURNAL = "state.journal"
LOCK = "state.lock"


class FileStateStore:
    """A :class:`~openclaw_failover._ports.StateStore` in a directory, safe across processes."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync_interval_s: float = 1.0,
        lock_timeout_s: float = 10.0,
        compact_min_bytes: int = 1 << 20,
    ) -> None:
        self.directory = Path(directory)
        self._fsync_interval_s = fsync_interval_s
        self._lock_timeout_s = lock_timeout_s
        self._compact_min_bytes = compact_min_bytes
        self._mutex = threading.RLock()
        self._journal = Journal(self.directory / JOURNAL)
        self._memo = SnapshotMemo()
        self._counter = WriteCounter(self.directory / LOCK)
        #: The write counter as it was before this store last read the journal.
        self._counted: bytes | None = None
        self._lock_fd: int | None = None
        self._last_sync = time.monotonic()
        self._dirty = False

    # ------------------------------------------------------------------ StateStore

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]:
        """The stored health of each of ``keys`` that exists (reads only new records)."""
        with self._mutex:
            journal = self._journal
            mapped = self._counter.map  # read before the journal: a write after it moves it
            counted = mapped[:8] if mapped is not None else None
            moved = counted is not None and counted != self._counted  # someone wrote
            if counted is None or moved or not journal.trusted():
                journal = self._read(full=moved)
                self._counted = counted
                self._counter.look(time.monotonic())
            found = self._memo.get(keys, journal.version)
            if found is None:
                state = journal.state
                found = {k: state[k] for k in keys if k in state}
                self._memo.put(keys, journal.version, found)
            return found

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        """Apply ``fn`` under the cross-process lock; append the result; return it."""
        with self._mutex, self._locked():
            journal = self._read(repair=True)
            old = journal.state.get(key)
            new = forward_only(old, fn(old))
            if new != old:
                journal.append(key, new)
                self._after_write(journal)
                # Lock held and the journal read to its end: this store has seen every write.
                self._counted = self._count_write()
            return new

    async def items(self) -> Mapping[str, Health]:
        """Every stored key with its health (a copy)."""
        with self._mutex:
            return MappingProxyType(dict(self._read().state))

    async def aclose(self) -> None:
        """Flush to disk and release the files; the store reopens them if used again."""
        with self._mutex:
            if self._dirty:
                self._journal.sync()
                self._dirty = False
            self._journal.close()
            self._counter.close()
            self._counted = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __repr__(self) -> str:
        return f"FileStateStore({str(self.directory)!r})"

    # ------------------------------------------------------------------ internals

    def _read(self, *, repair: bool = False, full: bool = False) -> Journal:
        try:
            if repair:
                self._ensure_dir()
            self._journal.refresh(repair=repair, full=full)
        except OSError as exc:
            raise StateStoreError(f"state store {self._journal.path}: {exc.strerror}") from None
        return self._journal

    def _ensure_dir(self) -> None:
        if self._lock_fd is not None:  # the lock file is inside: the directory exists
            return
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._ensure_dir()
            if self._lock_fd is None:
                path = self.directory / LOCK
                self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fd = self._lock_fd
            deadline = time.monotonic() + self._lock_timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StateStoreError(
                            f"state store {self.directory}: lock held longer than "
                            f"{self._lock_timeout_s} s by another process"
                        ) from None
                    time.sleep(0.0002)
        except OSError as exc:
            raise StateStoreError(f"state store {self.directory}: {exc.strerror}") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _count_write(self) -> bytes | None:
        """Bump the directory's write counter (lock held); None when it cannot be (the store
        then works as without one: readers check the journal itself)."""
        if self._lock_fd is None:
            return None
        try:
            return self._counter.bump(self._lock_fd)
        except (OSError, ValueError) as exc:
            _log.warning("state store %s: write counter unavailable: %s", self.directory, exc)
            self._counter.close()
            return None

    def _after_write(self, journal: Journal) -> None:
        self._dirty = True
        if journal.size > max(self._compact_min_bytes, 4 * journal.live_bytes):
            journal.compact()
            self._dirty = False
            self._last_sync = time.monotonic()
            return
        now = time.monotonic()
        if now - self._last_sync >= self._fsync_interval_s:
            _sync_in_background(journal)
            self._dirty = False
            self._last_sync = now


def _sync_in_background(journal: Journal) -> None:
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
