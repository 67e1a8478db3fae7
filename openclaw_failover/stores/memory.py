"""MemoryStateStore: process-local health state, and the forward-only rule every store applies."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from .._ports import Health, HealthUpdate
from ._memo import SnapshotMemo

__all__ = ["MemoryStateStore", "forward_only"]


def forward_only(old: Health | None, new: Health | None) -> Health | None:
    """``new``, except that a nonzero ``*_until`` never goes below ``old``'s (0 clears it).

    The reason travels with the cooldown and the owner with the probe lease, so a kept value is
    always a pair that was stored together.
    """
    if old is None or new is None:
        return new
    if 0 < new.cooldown_until < old.cooldown_until:
        new = replace(new, cooldown_until=old.cooldown_until, cooldown_reason=old.cooldown_reason)
    if 0 < new.probe_until < old.probe_until:
        new = replace(new, probe_until=old.probe_until, probe_owner=old.probe_owner)
    return new


class MemoryStateStore:
    """A :class:`~openclaw_failover._ports.StateStore` in a dict, private to this process.

    ``update`` runs ``fn`` under a lock and never awaits in between, so it is atomic for
    asyncio tasks and for threads alike.
    """

    def __init__(self, initial: Mapping[str, Health] | None = None) -> None:
        self._data: dict[str, Health] = dict(initial or {})
        self._lock = threading.Lock()
        #: Bumped after every write (a snapshot built at an older version is not reused).
        self._version = 0
        self._memo = SnapshotMemo()

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]:
        """The stored health of each of ``keys`` that exists."""
        version = self._version  # read first: a write meanwhile leaves this one stale
        found = self._memo.get(keys, version)
        if found is None:
            get = self._data.get
            found = {k: health for k in keys if (health := get(k)) is not None}
            self._memo.put(keys, version, found)
        return found

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        """Apply ``fn`` to the key's health atomically; return what is stored (None: deleted)."""
        with self._lock:
            old = self._data.get(key)
            new = forward_only(old, fn(old))
            if new is None:
                self._data.pop(key, None)
            else:
                self._data[key] = new
            self._version += 1  # after the write: a snapshot never pairs new data with it
            return new

    async def items(self) -> Mapping[str, Health]:
        """Every stored key with its health (a copy)."""
        with self._lock:
            return MappingProxyType(dict(self._data))

    async def aclose(self) -> None:
        """Nothing to release; the state stays readable."""

    def __repr__(self) -> str:
        return f"MemoryStateStore(keys={len(self._data)})"
