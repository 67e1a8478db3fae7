"""FileStateStore: health state in an append-only, checksummed journal shared by processes.

Layout under the directory (0700): ``state.journal`` (0600) holds one line per write,
``<crc32 hex> <json>\\n`` with ``{"k": key, "h": health-or-null}``; ``state.lock`` is the
``flock`` target that serialises writers (a separate file, so compaction can replace the
journal without breaking anyone's lock) and holds the write counter.

- **Atomic, no lost update:** ``update`` takes the exclusive lock, catches up on records
  other processes appended, applies ``fn`` (with :func:`forward_only`), appends one record and
  unlocks. Readers take no lock.
- **Waiting for the lock never blocks the event loop:** while another process holds the lock,
  the update (or the merge back after an outage) tries again after each pause of a
  :class:`~openclaw_failover.stores._lock_wait.LockWait`, until ``lock_timeout_s``. The thread
  mutex is held only for one try, never across an ``await``. Once another call on this store
  has given up on the disk, a waiting update stops waiting and joins it.
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
- **Disk failing** (full, read-only, I/O errors, a lock held too long): with
  ``on_unavailable="closed"`` the call raises :class:`StateStoreError` naming the directory and
  the reason. With ``"local"`` (the default) the store serves this process's memory, seeded
  with the state it last read, sets ``degraded`` and ``degraded_reason``, and tries the disk
  again at most every ``retry_interval_s``: once a write lands, every key written meanwhile is
  merged into the journal (:func:`merge_health`: the later ``*_until`` wins) and the store is
  back on disk. A failed compaction is not an outage: the record is written; it is retried later.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from .._errors import StateStoreError
from .._ports import Health, HealthUpdate
from ._background_sync import sync_in_background
from ._counter import WriteCounter
from ._fallback import Degradable, closed_mode, merging
from ._journal import Journal
from ._lock_wait import BUSY, Busy, LockWait
from ._memo import SnapshotMemo
from .memory import MemoryStateStore, forward_only

__all__ = ["FileStateStore"]

_log = logging.getLogger("openclaw_failover.stores")

JOURNAL = "state.journal"
LOCK = "state.lock"

_T = TypeVar("_T")


class FileStateStore(Degradable):
    """A :class:`~openclaw_failover._ports.StateStore` in a directory, safe across processes."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync_interval_s: float = 1.0,
        lock_timeout_s: float = 10.0,
        compact_min_bytes: int = 1 << 20,
        on_unavailable: str = "local",
        retry_interval_s: float = 5.0,
    ) -> None:
        self._closed_mode = closed_mode(on_unavailable, backend="file")
        self._retry_interval_s = retry_interval_s
        #: This process's state while the disk fails ("local" mode); None while on disk.
        self._fallback: MemoryStateStore | None = None
        self._written: set[str] = set()  # keys written to ``_fallback``, merged back later
        self._retry_at = 0.0  # monotonic time of the next try of the disk (while degraded)
        self._compact_at = 0.0  # no compaction before this (one failed)
        self._reason: str | None = None
        self._watchers: list[Callable[[str | None], None]] = []
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
        if self._fallback is not None and not await self._recovered():
            return await self._fallback.snapshot(keys)
        with self._mutex:
            journal = self._journal
            mapped = self._counter.map  # read before the journal: a write after it moves it
            counted = mapped[:8] if mapped is not None else None
            moved = counted is not None and counted != self._counted  # someone wrote
            if counted is None or moved or not journal.trusted():
                try:
                    journal = self._read(full=moved)
                except StateStoreError as exc:
                    return await self._fall_back(exc).snapshot(keys)
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
        if self._fallback is None or await self._recovered():
            try:
                # The usual case: one non-blocking flock, no await. Only a busy lock waits.
                done = self._try_locked(self._update_disk, key, fn)
                return done if not isinstance(done, Busy) else await self._update_waiting(key, fn)
            except StateStoreError as exc:
                local = self._fall_back(exc)
        else:
            local = self._fallback
        result = await local.update(key, fn)
        self._written.add(key)
        return result

    async def items(self) -> Mapping[str, Health]:
        """Every stored key with its health (a copy)."""
        if self._fallback is None or await self._recovered():
            try:
                with self._mutex:
                    return MappingProxyType(dict(self._read().state))
            except StateStoreError as exc:
                local = self._fall_back(exc)
        else:
            local = self._fallback
        return await local.items()

    async def aclose(self) -> None:
        """Flush to disk and release the files; the store reopens them if used again.

        While degraded, one last try merges what was written in memory into the journal."""
        if self._fallback is not None:
            self._retry_at = 0.0
            if not await self._recovered():
                _log.warning(
                    "state store %s: closed while degraded; %d key(s) written in memory "
                    "since are not on disk",
                    self.directory,
                    len(self._written),
                )
        with self._mutex:
            if self._dirty:
                try:
                    self._journal.sync()
                except OSError as exc:  # the files are released all the same
                    _log.warning("state store %s: fdatasync failed: %s", self.directory, _why(exc))
                self._dirty = False
            self._journal.close()
            self._counter.close()
            self._counted = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    @property
    def damaged_records(self) -> int:
        """Records of the journal, as last read, that failed their checksum: skipped (their
        state is not read) on every read until a compaction rewrites the journal."""
        return self._journal.skipped

    def __repr__(self) -> str:
        return f"FileStateStore({str(self.directory)!r})"

    def _update_disk(self, key: str, fn: HealthUpdate) -> Health | None:
        """Apply ``fn`` to the journal's value and append the result (mutex and lock held)."""
        journal = self._read(repair=True)
        old = journal.state.get(key)
        new = forward_only(old, fn(old))
        if new != old:
            self._append(journal, key, new)
            self._after_write(journal)
            # Lock held and the journal read to its end: this store has seen every write.
            self._counted = self._count_write()
        return new

    def _append(self, journal: Journal, key: str, health: Health | None) -> None:
        try:
            journal.append(key, health)
        except OSError as exc:
            raise StateStoreError(
                f"state store {self.directory}: cannot write {JOURNAL}: {_why(exc)}"
            ) from None

    # ------------------------------------------------------------------ disk failing

    def _fall_back(self, exc: StateStoreError) -> MemoryStateStore:
        """The local state to serve now; raises ``exc`` when onUnavailable is "closed"."""
        if self._closed_mode:
            raise StateStoreError(f"{exc} (state.onUnavailable is 'closed')") from None
        if self._fallback is None:
            with self._mutex:
                self._fallback = MemoryStateStore(self._journal.state)
                self._written.clear()
            self._reason = str(exc)
            self._retry_at = time.monotonic() + self._retry_interval_s
            _log.warning(
                "%s; serving this process's state from memory (not shared with other "
                "processes) and trying the disk again at most every %g s",
                exc,
                self._retry_interval_s,
            )
            self._tell(self._reason)
        return self._fallback

    async def _recovered(self) -> bool:
        """Try the disk (at most every ``retry_interval_s``): merge every key written locally
        into the journal; True when that worked and the store is back on disk."""
        local, now = self._fallback, time.monotonic()
        if local is None:
            return True
        if now < self._retry_at:
            return False
        self._retry_at = now + self._retry_interval_s
        wait: LockWait | None = None
        try:
            while True:
                # A key deleted here stays on disk. Nothing awaits between this snapshot, the
                # merge and the switch back to disk below (the memory store's snapshot never
                # suspends), so no local write can fall between them; a busy lock takes a
                # fresh snapshot after each pause.
                mine = await local.snapshot(tuple(self._written))
                if not isinstance(self._try_locked(self._merge_into, mine), Busy):
                    break
                wait = wait or LockWait(self.directory, self._lock_timeout_s)
                await wait.pause()
                if self._fallback is not local:  # another call's try got there meanwhile
                    return self._fallback is None
        except StateStoreError as exc:
            _log.debug("state store still degraded: %s", exc)
            return False
        with self._mutex:
            self._fallback = self._reason = None
            self._written.clear()
        _log.info(
            "state store %s: writing to disk again; %d key(s) written in memory meanwhile "
            "merged into the journal",
            self.directory,
            len(mine),
        )
        self._tell(None)
        return True

    def _merge_into(self, mine: Mapping[str, Health]) -> None:
        """Append the merge of each of ``mine`` with the journal's value (mutex and lock held)."""
        journal = self._read(repair=True)
        wrote = False
        for key, health in mine.items():
            old = journal.state.get(key)
            new = forward_only(old, merging(health)(old))
            if new != old:
                self._append(journal, key, new)
                wrote = True
        if wrote:
            self._after_write(journal)
            self._counted = self._count_write()

    # ------------------------------------------------------------------ internals

    def _read(self, *, repair: bool = False, full: bool = False) -> Journal:
        try:
            if repair:
                self._ensure_dir()
            self._journal.refresh(repair=repair, full=full)
        except OSError as exc:
            raise StateStoreError(f"state store {self._journal.path}: {_why(exc)}") from None
        return self._journal

    def _ensure_dir(self) -> None:
        if self._lock_fd is not None:  # the lock file is inside: the directory exists
            return
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)

    def _try_locked(self, work: Callable[..., _T], *args: object) -> _T | Busy:
        """``work(*args)`` under the mutex and the cross-process lock, taken without waiting;
        ``BUSY`` (nothing done) while another process holds the lock."""
        with self._mutex:
            try:
                self._ensure_dir()
                if self._lock_fd is None:
                    path = self.directory / LOCK
                    self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fd = self._lock_fd
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return BUSY
            except OSError as exc:
                raise StateStoreError(f"state store {self.directory}: {_why(exc)}") from None
            try:
                return work(*args)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    async def _update_waiting(self, key: str, fn: HealthUpdate) -> Health | None:
        """``update`` while another process holds the lock: try again after each pause (the
        loop serves other requests meanwhile). Once another call has put the store on local
        memory, stop waiting and join it rather than wait out the lock that made it give up."""
        wait = LockWait(self.directory, self._lock_timeout_s)
        while True:
            await wait.pause()
            if self._fallback is not None:
                raise StateStoreError(self._reason or f"state store {self.directory}: degraded")
            done = self._try_locked(self._update_disk, key, fn)
            if not isinstance(done, Busy):
                return done

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
        now = time.monotonic()
        if (
            journal.size > max(self._compact_min_bytes, 4 * journal.live_bytes)
            and now >= self._compact_at
            and self._compacted(journal, now)
        ):
            return
        if now - self._last_sync >= self._fsync_interval_s:
            sync_in_background(journal)
            self._dirty = False
            self._last_sync = now

    def _compacted(self, journal: Journal, now: float) -> bool:
        """Compact (lock held). A failure (a full disk) is logged and tried again later: the
        record that asked for it is written already, so it is no outage."""
        try:
            journal.compact()
        except OSError as exc:
            self._compact_at = now + self._retry_interval_s
            _log.warning(
                "state store %s: compaction failed (%s); the journal keeps its old records "
                "until a compaction works (next try in %g s)",
                self.directory,
                _why(exc),
                self._retry_interval_s,
            )
            return False
        self._dirty = False
        self._last_sync = now
        return True


def _why(exc: OSError) -> str:
    """The OS's reason (``strerror``), or the message of an error raised without one."""
    return exc.strerror or str(exc)
