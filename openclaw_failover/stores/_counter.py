"""The file store's write counter: 8 bytes at the start of its lock file, memory-mapped by every
process that uses the directory, so a reader learns that nothing was written without a system
call.

Only :class:`~openclaw_failover.stores.file.FileStateStore` uses it. A writer bumps the counter
(lock held) after each write it made to the journal; a reader compares the counter with the
value it read before its last look at the journal. A counter that did not move means the
journal did not either; one that moved (or was torn in the middle of a bump) sends the reader
to the journal. A writer killed between its append and its bump leaves that one record unseen
by trusting readers until their next look at the journal's path (``PATH_RECHECK_S``).

The lock file is never truncated by this package (the counter only grows it to 8 bytes). A
lock file truncated by hand under a running gateway would fault the mapping (SIGBUS); like the
journal, the state directory is the gateway's own (0700).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from ._journal import PATH_RECHECK_S

__all__ = ["WriteCounter"]

_SIZE = 8
_MASK = (1 << 64) - 1


class WriteCounter:
    """How many writes the directory's journal has had, shared through a memory map."""

    __slots__ = ("_checked_at", "_ino", "_path", "_writable", "map")

    def __init__(self, path: Path) -> None:
        self._path = os.fspath(path)
        #: The mapped counter (8 bytes, little-endian; None while not mapped). A reader
        #: compares ``map[:8]`` with what it read before (no call, no system call).
        self.map: mmap.mmap | None = None
        self._ino = -1
        self._writable = False
        self._checked_at = float("-inf")

    def bump(self, fd: int) -> bytes:
        """Count one more write (the directory's lock held, ``fd`` the lock file, read-write);
        return the new value."""
        st = os.fstat(fd)
        if self.map is None or not self._writable or self._ino != st.st_ino:
            if st.st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
            self._attach(mmap.mmap(fd, _SIZE), st.st_ino, writable=True)
        mapped = self.map
        assert mapped is not None  # attached just above
        value = (int.from_bytes(mapped[:_SIZE], "little") + 1) & _MASK
        mapped[:_SIZE] = value.to_bytes(_SIZE, "little")
        return mapped[:_SIZE]

    def look(self, now: float) -> None:
        """Map the lock file if it exists, and see that the mapping is still that file's, at
        most once per ``PATH_RECHECK_S`` (a reader calls this when it reads the journal)."""
        if now < self._checked_at + PATH_RECHECK_S:
            return
        self._checked_at = now
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            self.close()
            return
        if self.map is not None and st.st_ino == self._ino:
            return
        self.close()
        if st.st_size < _SIZE:
            return  # no writer has counted yet
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return  # gone again, or unreadable: the journal alone is read, as without a counter
        try:
            self._attach(mmap.mmap(fd, _SIZE, prot=mmap.PROT_READ), st.st_ino, writable=False)
        except (OSError, ValueError):  # replaced by a shorter file in between
            pass
        finally:
            os.close(fd)

    def close(self) -> None:
        """Drop the mapping (the next ``look`` or ``bump`` makes a new one)."""
        if self.map is not None:
            self.map.close()
        self.map, self._ino, self._writable = None, -1, False

    def _attach(self, mapped: mmap.mmap, ino: int, *, writable: bool) -> None:
        self.close()
        self.map, self._ino, self._writable = mapped, ino, writable
