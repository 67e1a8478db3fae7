"""Reading the JSONL audit: the live file and its rotated copies (``audit.jsonl.N``), line by
line, skipping a torn or damaged line with a warning."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["AuditReadStats", "audit_paths", "read_audit", "rotated_copies"]

_log = logging.getLogger("openclaw_failover.audit")
#: A rotated copy's suffix as rotation names it (``.1``, ``.2``, ...: ASCII digits, no leading
#: zero); nothing else beside the audit file is taken for a copy, or removed as one.
_COPY_SUFFIX = re.compile(r"\.([1-9][0-9]*)")


@dataclass(slots=True)
class AuditReadStats:
    """What :func:`read_audit` saw: lines yielded, lines skipped, and a torn last line."""

    lines: int = 0
    skipped: int = 0
    torn_tail: bool = False


def rotated_copies(path: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """The rotated copies beside ``path`` (``audit.jsonl.N``, named as rotation names them)
    and their numbers, newest (1) first."""
    base = Path(path)
    try:
        names = os.listdir(base.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    copies: list[tuple[int, Path]] = []
    for name in names:
        if name.startswith(base.name):
            match = _COPY_SUFFIX.fullmatch(name, len(base.name))
            if match:
                copies.append((int(match.group(1)), base.with_name(name)))
    return sorted(copies)


def audit_paths(path: str | os.PathLike[str]) -> list[Path]:
    """``path`` and its rotated copies (:func:`rotated_copies`, the copies rotation removes
    above ``keep`` included while they last) that are files, oldest first."""
    base = Path(path)
    files = [copy for _, copy in reversed(rotated_copies(base)) if copy.is_file()]
    if base.is_file():
        files.append(base)
    return files


def read_audit(
    path: str | os.PathLike[str], *, stats: AuditReadStats | None = None
) -> Iterator[dict[str, Any]]:
    """Yield each audit line of ``path`` as a dict.

    A torn last line (a writer killed mid-write) and any line that is not a JSON object are
    skipped, counted in ``stats`` and reported once with a logger warning (never an exception).
    """
    stats = stats if stats is not None else AuditReadStats()
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                stats.lines += 1
                yield data
            elif raw.strip():
                stats.skipped += 1
                stats.torn_tail = not raw.endswith(b"\n")
                what = "a torn last line" if stats.torn_tail else f"damaged line {number}"
                _log.warning("audit %s: skipped %s", path, what)
