"""The file store's journal: checksummed JSON lines, read incrementally, compacted atomically.

Only :class:`~openclaw_failover.stores.file.FileStateStore` uses it; it holds the lock while
calling ``refresh(repair=True)``, ``append`` and ``compact``; ``refresh()`` alone is lock-free.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
import zlib
from pathlib import Path

import orjson

from .._ports import Health

__all__ = ["Journal", "record_line"]

_log = logging.getLogger("openclaw_failover.stores.file")
_HEADER = orjson.dumps({"v": 1, "kind": "openclaw-failover-state"})
_READ_CHUNK = 1 << 20
#: How long a lock-free reader trusts the journal it has open, checking only that it did not
#: grow, before it looks the path up again. Appends by other processes are seen at once (the
#: file grows); a compaction by this package appends a marker to the replaced file, so it is
#: seen at once too. Only a journal replaced some other way (by hand, by an older version) or
#: a removed directory waits for this look.
PATH_RECHECK_S = 0.1
_monotonic = time.monotonic


def record_line(key: str | None, health: Health | None) -> bytes:
    """One journal line: 8 hex digits of CRC-32, a space, the JSON record, a newline."""
    data = _HEADER if key is None else orjson.dumps({"k": key, "h": _dump(health)})
    return b"%08x %s\n" % (zlib.crc32(data), data)


def _dump(health: Health | None) -> object:
    return None if health is None else health.to_json()


class Journal:
    """The parsed state of one journal file plus where reading stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._where = os.fspath(path)
        self.state: dict[str, Health] = {}
        self.size = 0  # end of the last valid record read
        self.live_bytes = 0
        #: Complete lines of the journal as read that failed their checksum (never expected):
        #: skipped on every read until a compaction rewrites the journal without them.
        self.skipped = 0
        self._lens: dict[str, int] = {}
        self._fd: int | None = None
        self._ino = -1
        self._seen: tuple[int, int] | None = None
        #: Monotonic time after which a lock-free refresh looks the path up again; 0 whenever
        #: the journal is not open or not read to a complete end (nothing is trusted then).
        self._path_due = 0.0
        #: Bumped whenever ``state`` changes (the store's snapshots are remembered by it).
        self.version = 0

    # ------------------------------------------------------------------ reading

    def refresh(self, *, repair: bool = False, full: bool = False) -> None:
        """Catch up with the file; ``repair`` (lock held) creates it and cuts a torn tail.

        Without ``repair`` or ``full``, a journal read completely less than
        ``PATH_RECHECK_S`` ago is checked by its size alone (an ``lseek`` on the open file: no
        path lookup, no stat result to build). ``full`` looks the path up in any case."""
        seen, fd = self._seen, self._fd
        if repair or full or seen is None or fd is None or _monotonic() >= self._path_due:
            self._refresh_path(repair=repair)
        elif os.lseek(fd, 0, os.SEEK_END) != seen[1]:
            self._refresh_path(repair=False)

    def trusted(self) -> bool:
        """Whether the journal was read completely less than ``PATH_RECHECK_S`` ago."""
        return _monotonic() < self._path_due  # 0 unless open and read to a complete end

    def _refresh_path(self, *, repair: bool) -> None:
        try:
            st = os.stat(self._where)
        except FileNotFoundError:
            if not repair:
                self._reset()
                return
            self._open(create=True)
            self._reset()
            st = os.fstat(self._require())
        seen = (st.st_ino, st.st_size)
        if seen == self._seen:
            self._path_due = _monotonic() + PATH_RECHECK_S
            return
        if self._fd is None or st.st_ino != self._ino or st.st_size < self.size:
            self._open(create=False)
            self._reset()
        complete = self._read_from(self.size, st.st_size)
        if complete:
            self._seen = seen
            self._path_due = _monotonic() + PATH_RECHECK_S
            return
        self._seen, self._path_due = None, 0.0  # an unfinished tail: look again next time
        if repair:
            _log.warning("state journal %s: dropping a torn last record", self.path)
            os.ftruncate(self._require(), self.size)
            st = os.fstat(self._require())
            self._seen = (st.st_ino, st.st_size)

    def _read_from(self, start: int, end: int) -> bool:
        """Apply every whole valid line in [start, end); False if a partial tail remains."""
        offset, pending, skipped = start, b"", self.skipped
        while offset < end:
            data = os.pread(self._require(), min(_READ_CHUNK, end - offset), offset)
            if not data:
                break
            offset += len(data)
            pending += data
            pending = self._apply_lines(pending)
        if self.skipped > skipped:  # one line per read, however many records are damaged
            found = self.skipped - skipped
            _log.warning(
                "state journal %s: skipped %d damaged record%s",
                self.path,
                found,
                "" if found == 1 else "s",
            )
        return not pending

    def _apply_lines(self, buffer: bytes) -> bytes:
        start = 0
        while (newline := buffer.find(b"\n", start)) >= 0:
            line = buffer[start:newline]
            length = newline + 1 - start
            start = newline + 1
            record = _parse(line)
            if record is _BAD:
                self.skipped += 1
            elif isinstance(record, tuple):
                self._apply(record[0], record[1], length)
            self.size += length
        return buffer[start:]

    def _apply(self, key: str, health: Health | None, length: int) -> None:
        self.version += 1
        self.live_bytes -= self._lens.pop(key, 0)
        if health is None:
            self.state.pop(key, None)
        else:
            self.state[key] = health
            self._lens[key] = length
            self.live_bytes += length

    def _reset(self) -> None:
        self.version += 1
        self.state, self._lens = {}, {}
        self.size = self.live_bytes = self.skipped = 0
        self._seen, self._path_due = None, 0.0

    # ------------------------------------------------------------------ writing

    def append(self, key: str, health: Health | None) -> None:
        """Append one record (lock held, after ``refresh(repair=True)``)."""
        line = record_line(key, health)
        written = os.write(self._require(), line)
        if written != len(line):  # a full disk takes what fits: cut it off again
            os.ftruncate(self._require(), self.size)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._where)
        self._apply(key, health, len(line))
        self.size += len(line)
        self._seen = (self._ino, self.size)  # the lock is held: nobody else appended

    def compact(self) -> None:
        """Rewrite the live state into a temp file, fsync, rename over the journal (lock held)."""
        for stale in self.path.parent.glob(self.path.name + ".tmp-*"):
            stale.unlink(missing_ok=True)  # left by a compaction that was killed
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        lines = [record_line(None, None)]
        lines += [record_line(k, h) for k, h in self.state.items()]
        try:
            _write_file(tmp, b"".join(lines))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk: give back the space it took
            raise
        # A header line appended to the file just replaced: readers that still have it open
        # see it grow, look the path up, and find the new journal at once. Best effort: the
        # new journal is in place, and readers look the path up within PATH_RECHECK_S anyway.
        with contextlib.suppress(OSError):
            os.write(self._require(), record_line(None, None))
        _fsync_dir(self.path.parent)
        self._open(create=False)
        self._reset()
        self.refresh()

    def sync(self) -> None:
        """fdatasync the journal, if open."""
        if self._fd is not None:
            os.fdatasync(self._fd)

    def dup_fd(self) -> int | None:
        """A duplicate of the open descriptor, for a sync on another thread (the caller closes
        it; a compaction that reopens the journal meanwhile does not invalidate it)."""
        return os.dup(self._fd) if self._fd is not None else None

    def close(self) -> None:
        """Close the file; the next refresh reopens it."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._ino, self._seen, self._path_due = None, -1, None, 0.0

    def _require(self) -> int:
        if self._fd is None:
            raise OSError(f"{self.path} is not open")
        return self._fd

    def _open(self, *, create: bool) -> None:
        self.close()
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        self._fd = os.open(self._where, flags, 0o600)
        self._ino = os.fstat(self._fd).st_ino
        if create and os.fstat(self._fd).st_size == 0:
            os.write(self._fd, record_line(None, None))


_BAD = object()


def _parse(line: bytes) -> tuple[str, Health | None] | object | None:
    """(key, health) for a record, None for a header, _BAD for a damaged line."""
    if len(line) < 10 or line[8:9] != b" ":
        return _BAD
    data = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(data):
            return _BAD
        record = orjson.loads(data)
        if "k" not in record:
            return None
        health = record["h"]
        return str(record["k"]), None if health is None else Health.from_json(health)
    except (ValueError, TypeError, KeyError):
        return _BAD


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and fsync it; a short write (a full disk) is an error, so
    a truncated copy never replaces the journal."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        if os.write(fd, data) != len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
