"""The files install, uninstall and migrate write: atomic, private, through symlinks.

A config holds API keys and OpenClaw refuses to start on a broken one, so every write here
either lands whole or leaves the old file as it was, and never leaves a stray temp file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


class InstallError(Exception):
    """Install or uninstall cannot proceed; the message says why and what to do."""


def has_comments(path: Path) -> bool:
    """True when the JSON5 file has ``//`` or ``/* */`` comments (writing it drops them)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return False
    quote, i = "", 0
    while i < len(text):
        char = text[i]
        if quote and char == "\\":
            i += 1
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "/" and text[i + 1 : i + 2] in ("/", "*"):
            return True
        i += 1
    return False


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace the file at ``path`` so that a crash leaves the old bytes or the new, never a
    truncated file: a private temp file in the same folder, fsynced, renamed, folder fsynced.

    A symlinked ``path`` (dotfile managers) is written through to its target, and the link
    stays. The file keeps its mode and owner (``mode`` if given; 0600 for a new file). Raises
    ``InstallError`` naming the file, with nothing left behind.
    """
    dest = Path(os.path.realpath(path))
    tmp = ""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        old = dest.stat() if dest.exists() else None
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:  # mkstemp made it 0600: never wider meanwhile
            if old is not None:
                with contextlib.suppress(OSError):  # a change of owner needs privileges
                    os.fchown(handle.fileno(), old.st_uid, old.st_gid)
            keep = mode if mode is not None else stat.S_IMODE(old.st_mode) if old else 0o600
            os.fchmod(handle.fileno(), keep & 0o777)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
        tmp = ""
        folder = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise InstallError(
            f"{dest}: cannot write it ({exc.strerror or exc}); left as it was"
        ) from exc
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def back_up(path: Path, backup: Path) -> None:
    """Copy the config's bytes (comments and all) to ``backup``, atomically: a crash never
    leaves a truncated backup that later installs would then keep. Private (0600 at most, and
    never wider than the config), since the file holds keys."""
    try:
        data = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode) & 0o600
    except OSError as exc:
        raise InstallError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    write_atomic(backup, data, mode=mode)


def keep_comments(path: Path, first: Path) -> list[str]:
    """Writing drops a JSON5 file's comments. Unless ``first`` (the backup) or a numbered copy
    beside it already holds these exact bytes, they are kept in the next free ``first.N``:
    the first backup stays the original, and a file with no comments left adds no copy."""
    if not has_comments(path):
        return []
    data = path.read_bytes()
    copy, n = first, 0
    while copy.exists():
        if copy.read_bytes() == data:
            return [f"{path}'s comments are kept in {copy}"]
        n += 1
        copy = first.with_name(f"{first.name}.{n}")
    back_up(path, copy)
    return [f"{path}'s comments are kept in {copy}"]


def write_recorded(path: Path, data: bytes, book_path: Path, book: bytes) -> None:
    """The install record, then the config; the record is put back as it was when the config
    cannot be written, so a failed install leaves no record of a change it did not make."""
    before = book_path.read_bytes() if book_path.exists() else None
    write_atomic(book_path, book)
    try:
        write_atomic(path, data)
    except InstallError:
        if before is None:
            book_path.unlink(missing_ok=True)
        else:
            write_atomic(book_path, before)
        raise
