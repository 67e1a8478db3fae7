"""The JSONL audit sink (a background writer thread, size rotation); its reader is in
``_audit_read`` (re-exported here).

``emit`` only puts the record on a queue, so the request path never waits for the disk. On an
event loop the records of ``HAND_OVER_S`` (2 ms) go on the queue together (one wake-up of the
writer thread, not one per record); ``flush`` and ``close`` hand over what is still held
first. The writer thread serialises records with orjson
(``AuditRecord.to_json``, the line schema in ``schemas/audit-record.schema.json``) and writes
each batch with one ``write`` of whole lines on an ``O_APPEND`` descriptor, so lines from
several processes never interleave and a crash can tear at most the last line; a sink that
opens a file ending in a torn line starts on a new one, so the fragment stays a line of its
own (skipped by the reader) and takes no record with it.
Rotation renames ``audit.jsonl`` to ``audit.jsonl.1`` (older copies move up to ``.keep``) under
an ``flock`` on ``audit.jsonl.lock``, so processes sharing the file rotate it once; copies
numbered above ``keep`` (left by a larger ``keep`` before a restart) are removed then.
``close``/``aclose`` write everything queued before returning.

Records that cannot be written (a full or read-only disk, a queue past ``MAX_PENDING`` while
the disk hangs) are dropped and counted in ``dropped`` (of a batch cut short, the lines written
whole before the cut are not); the warning about them comes at once, then at most once per
``WARN_EVERY_S``, and a write that succeeds again says how many were lost.
A string orjson refuses (a lone surrogate) is written with it escaped as text.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import logging
import os
import queue
import stat
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import orjson

from ._audit_read import AuditReadStats, audit_paths, read_audit, rotated_copies
from ._ports import AuditRecord

__all__ = ["AuditReadStats", "JsonlAuditSink", "audit_paths", "read_audit", "rotated_copies"]

_log = logging.getLogger("openclaw_failover.audit")
_STOP = object()
_BATCH = 512
#: How long records emitted on an event loop are held before they go to the writer thread
#: together: one wake-up (and one write) per interval instead of one per record. A kill -9
#: can lose what is held, as it can lose what is queued.
HAND_OVER_S = 0.002
#: Records queued and not yet written past which new ones are dropped (and counted), so a
#: disk that hangs cannot grow the queue, and the process, without bound.
MAX_PENDING = 100_000
#: After a warning about records not written, the next one comes no sooner than this.
WARN_EVERY_S = 60.0
#: Sinks still open, closed at interpreter exit so a forgotten ``aclose`` loses nothing.
_OPEN: weakref.WeakSet[JsonlAuditSink] = weakref.WeakSet()


@atexit.register
def _close_open_sinks() -> None:
    for sink in list(_OPEN):
        sink.close()


class JsonlAuditSink:
    """An :class:`~openclaw_failover._ports.AuditSink` appending JSON lines to ``path`` (0600).

    ``max_bytes`` is the size past which the file rotates; ``keep`` rotated copies are kept
    (0: the file is simply started afresh).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_bytes: int = 104_857_600, keep: int = 5
    ) -> None:
        if max_bytes <= 0 or keep < 0:
            raise ValueError(
                f"audit: max_bytes must be > 0 and keep >= 0; found {max_bytes!r}, {keep!r}"
            )
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        #: Records dropped because they arrived after close, found the queue full or could
        #: not be written.
        self.dropped = 0
        self.max_pending = MAX_PENDING
        self._lost_lock = threading.Lock()
        self._lost = 0  # dropped since the last warning
        self._warned_at: float | None = None
        #: Why writes fail (None while they succeed), and the records lost since they began to.
        self._failing: str | None = None
        self._failing_lost = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        #: Records emitted on ``_owner`` (the first event loop to emit) since its last
        #: hand-over, which runs ``HAND_OVER_S`` after the first of them; other threads and
        #: loops put theirs on the queue at once.
        self._held: list[AuditRecord] = []
        self._held_lock = threading.Lock()
        self._owner: asyncio.AbstractEventLoop | None = None
        self._done = threading.Condition()
        self._queued = 0
        self._written = 0
        self._closed = False
        self._fd: int | None = None
        self._ino = -1
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        _OPEN.add(self)

    def emit(self, record: AuditRecord) -> None:
        """Queue ``record`` and return at once."""
        if self._closed:
            self._lose(1, f"the sink is closed (a {record.event} record)")
            return
        loop = asyncio._get_running_loop()
        if loop is None or (loop is not self._owner and not self._own(loop)):
            self._put([record])
            return
        with self._held_lock:
            self._held.append(record)
            first = len(self._held) == 1
        if first:
            loop.call_later(HAND_OVER_S, self._hand_over)

    def _own(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Make ``loop`` the one whose records are held, unless another (still running) is."""
        with self._held_lock:
            owner = self._owner
            if owner is not None and owner.is_running():
                return False
            self._owner = loop
        self._hand_over()  # anything a stopped owner left behind
        return True

    def _hand_over(self) -> None:
        with self._held_lock:
            held, self._held = self._held, []
        if held:
            self._put(held)

    def _put(self, records: list[AuditRecord]) -> None:
        with self._done:
            full = self._queued - self._written + len(records) > self.max_pending
            if not full:
                self._queued += len(records)
        if full:
            why = f"the queue holds {self.max_pending} records not yet written (is the disk hung?)"
            self._lose(len(records), why)
            return
        self._queue.put(records)

    def _lose(self, count: int, why: str) -> None:
        """Count ``count`` dropped records; warn now unless a warning came in the last
        ``WARN_EVERY_S`` (the next one then sums up what was dropped since)."""
        with self._lost_lock:
            self.dropped += count
            self._lost += count
            now = time.monotonic()
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY_S:
                return
            self._warned_at = now
            lost, self._lost = self._lost, 0
            total = self.dropped
        _log.warning(
            "audit %s: %d records not written (%d since the sink opened): %s; "
            "the next such warning comes no sooner than %.0f s",
            self.path,
            lost,
            total,
            why,
            WARN_EVERY_S,
        )

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every record emitted so far is written; False on timeout."""
        self._hand_over()
        with self._done:
            target = self._queued
            return self._done.wait_for(lambda: self._written >= target, timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write everything queued, fsync and close the file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._hand_over()
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        _OPEN.discard(self)
        if self._thread.is_alive():
            with self._done:
                pending = self._queued - self._written
            _log.warning(
                "audit %s: close gave up after %.1f s with %d records not yet written "
                "(is the disk hung?); they are lost if the process exits now",
                self.path,
                timeout_s,
                pending,
            )

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    def __repr__(self) -> str:
        return f"JsonlAuditSink({str(self.path)!r}, max_bytes={self.max_bytes}, keep={self.keep})"

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        stopping = False
        while not stopping:
            items = [self._queue.get()]
            while len(items) < _BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in items:
                stopping = True
            self._write([r for item in items if isinstance(item, list) for r in item])
        self._finish()

    def _write(self, batch: list[AuditRecord]) -> None:
        if batch:
            data = b""
            try:
                data = _encode(batch)
                self._append(data)
            except Exception as exc:  # whatever it is, the thread goes on with the next batch
                lost = len(batch)
                if isinstance(exc, _CutShort):
                    lost -= data.count(b"\n", 0, exc.written)  # one line per record
                    exc = exc.error
                if isinstance(exc, OSError):
                    self._ino = -1  # reopen before the next write: it starts after the fragment
                    why = str(exc)
                else:
                    why = f"{type(exc).__name__}: {exc}"
                self._failing = self._failing or why
                self._failing_lost += lost
                self._lose(lost, why)
            else:
                if self._failing is not None:
                    self._written_again()
        with self._done:
            self._written += len(batch)
            self._done.notify_all()

    def _written_again(self) -> None:
        lost, why = self._failing_lost, self._failing
        self._failing, self._failing_lost = None, 0
        with self._lost_lock:
            self._warned_at, self._lost = None, 0  # the next failure is news again
        _log.warning(
            "audit %s: writing again; %d records were not written while writes failed (%s)",
            self.path,
            lost,
            why,
        )

    def _append(self, data: bytes) -> None:
        fd = self._current()
        size = os.fstat(fd).st_size
        if size and size + len(data) > self.max_bytes:
            self._rotate()
            fd = self._current()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            if len(view) == len(data):
                raise
            raise _CutShort(len(data) - len(view), exc) from exc

    def _current(self) -> int:
        """The descriptor of the file now at ``path`` (reopened if someone rotated it)."""
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError:
            ino = -2
        if self._fd is None or ino != self._ino:
            self._reopen()
        assert self._fd is not None  # _reopen sets it or raises
        return self._fd

    def _reopen(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self.path.parent.is_dir():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC  # read: the last byte
        self._fd = os.open(self.path, flags, 0o600)
        st = os.fstat(self._fd)
        if st.st_mode & 0o077:
            os.fchmod(self._fd, 0o600)
        self._ino = st.st_ino
        if st.st_size and os.pread(self._fd, 1, st.st_size - 1) != b"\n":
            os.write(self._fd, b"\n")  # a writer killed mid-line: keep its fragment apart

    def _rotate(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                return  # another process rotated it and has not written since
            if st.st_ino != self._ino or st.st_size <= 0:
                return  # another process rotated it already
            self._prune()
            if self.keep == 0:
                os.unlink(self.path)
                return
            for n in range(self.keep - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        finally:
            os.close(lock)

    def _prune(self) -> None:
        """Remove the rotated copies numbered above ``keep`` (regular files only, not what a
        link points to); one that cannot be removed is logged and the rotation goes on."""
        try:
            copies = rotated_copies(self.path)
        except OSError as exc:
            copies = []
            _log.warning("audit %s: could not list the rotated copies: %s", self.path, exc)
        for number, copy in copies:
            try:
                if number > self.keep and stat.S_ISREG(os.lstat(copy).st_mode):
                    os.unlink(copy)
            except FileNotFoundError:
                continue  # removed meanwhile
            except OSError as exc:
                _log.warning("audit %s: could not remove %s: %s", self.path, copy.name, exc)

    def _finish(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                _log.warning("audit %s: fsync at close failed: %s", self.path, exc)
            os.close(self._fd)
            self._fd = None


class _CutShort(Exception):
    """A write that failed after ``written`` bytes of the batch were on disk."""

    def __init__(self, written: int, error: OSError) -> None:
        super().__init__(written, error)
        self.written = written
        self.error = error


def _encode(records: list[AuditRecord]) -> bytes:
    """The batch as JSON lines; a record orjson refuses is encoded leniently (rare path)."""
    try:
        return b"".join(orjson.dumps(r.to_json()) + b"\n" for r in records)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a value of no JSON type
        return b"".join(_lenient(r.to_json()) + b"\n" for r in records)


def _lenient(data: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:
        return orjson.dumps({key: _escaped(value) for key, value in data.items()}, default=repr)


def _escaped(value: object) -> object:
    """A string's lone surrogates as ``\\udxxx`` text (orjson writes UTF-8 only)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    return value
