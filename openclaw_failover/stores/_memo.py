"""Snapshots remembered per tuple of keys while a store's state stays the same."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._ports import Health

__all__ = ["SnapshotMemo"]

#: Distinct key tuples remembered at most (a route table asks for a few dozen).
_LIMIT = 4096


class SnapshotMemo:
    """The last snapshot of each tuple of keys, with the store version it was read at.

    The engine asks for the same tuples (a candidate's keys, a slot's keys) on every request.
    While the store has written nothing (its version is unchanged) the answer is the same, so
    it is built once. A snapshot is a read-only ``Mapping`` to its callers, so sharing one is
    safe; each entry carries its own version, so a write racing a read can never make an old
    answer pass for a new one. Lists and other sequences are not remembered.
    """

    __slots__ = ("_found",)

    def __init__(self) -> None:
        self._found: dict[tuple[str, ...], tuple[int, Mapping[str, Health]]] = {}

    def get(self, keys: Sequence[str], version: int) -> Mapping[str, Health] | None:
        """The snapshot of ``keys`` read at ``version``, if remembered."""
        entry = self._found.get(keys) if type(keys) is tuple else None
        if entry is not None and entry[0] == version:
            return entry[1]
        return None

    def put(self, keys: Sequence[str], version: int, found: Mapping[str, Health]) -> None:
        """Remember ``found`` as the snapshot of ``keys`` at ``version`` (the store's version
        read before ``found`` was)."""
        if type(keys) is tuple:
            if len(self._found) >= _LIMIT:
                self._found.clear()
            self._found[keys] = (version, found)
