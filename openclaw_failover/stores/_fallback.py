"""What the file and redis stores share when their backend fails: the degraded flag and its
watchers, and the conservative merge of state written locally meanwhile (``merge_health``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import MappingProxyType

from .._errors import ConfigError, Problem
from .._ports import Health, HealthUpdate

__all__ = ["Degradable", "closed_mode", "merge_health", "merging"]

_log = logging.getLogger("openclaw_failover.stores")
_MODES = ("local", "closed")


class Degradable:
    """``degraded``, ``degraded_reason`` and ``watch`` for a store with a local fallback.

    The store sets ``_reason`` (None while its backend works) and ``_watchers`` in its
    ``__init__`` and calls ``_tell`` when it falls back and when it is back.
    """

    _reason: str | None
    _watchers: list[Callable[[str | None], None]]

    def watch(self, fn: Callable[[str | None], None]) -> None:
        """Call ``fn(reason)`` when the store falls back to local state, ``fn(None)`` when it
        is back on its backend (the proxy audits both)."""
        self._watchers.append(fn)

    def _tell(self, reason: str | None) -> None:
        for fn in self._watchers:
            try:
                fn(reason)
            except Exception:  # a watcher's failure must not change the store's state
                _log.exception("state store watcher failed")

    @property
    def degraded(self) -> bool:
        """True while the backend fails and the store serves this process's local state."""
        return self._reason is not None

    @property
    def degraded_reason(self) -> str | None:
        """Why the store is degraded (never credentials), for status, ``/readyz`` and doctor."""
        return self._reason


def closed_mode(on_unavailable: str, *, backend: str) -> bool:
    """Whether ``state.onUnavailable`` is "closed"; raises :class:`ConfigError` if it is
    neither "local" nor "closed"."""
    if on_unavailable not in _MODES:
        problem = Problem(
            rule=f"state-{backend}",
            path="state.onUnavailable",
            found=repr(on_unavailable),
            expected='"local" or "closed"',
        )
        raise ConfigError((problem,))
    return on_unavailable == "closed"


def merge_health(a: Health, b: Health) -> Health:
    """Two views of one key after an outage, merged conservatively (commutative).

    The later ``cooldown_until`` wins with its reason, the later ``probe_until`` with its
    owner; failure counters and timestamps take the max; ``disabled`` if either says so. A
    success recorded on one side during the outage does not clear the other side's cooldown.
    """
    cool = (
        a
        if (a.cooldown_until, a.cooldown_reason or "")
        >= (
            b.cooldown_until,
            b.cooldown_reason or "",
        )
        else b
    )
    probe = a if (a.probe_until, a.probe_owner or "") >= (b.probe_until, b.probe_owner or "") else b
    reasons = sorted({*a.failure_counts, *b.failure_counts})
    counts = {r: max(a.failure_counts.get(r, 0), b.failure_counts.get(r, 0)) for r in reasons}
    return Health(
        cooldown_until=cool.cooldown_until,
        cooldown_reason=cool.cooldown_reason,
        disabled=a.disabled or b.disabled,
        failure_counts=MappingProxyType(counts),
        last_failure_at=max(a.last_failure_at, b.last_failure_at),
        last_used_at=max(a.last_used_at, b.last_used_at),
        last_good_at=max(a.last_good_at, b.last_good_at),
        probe_owner=probe.probe_owner,
        probe_until=probe.probe_until,
    )


def merging(theirs: Health) -> HealthUpdate:
    """An update that merges ``theirs`` into the stored value (:func:`merge_health`)."""

    def fn(current: Health | None) -> Health | None:
        return theirs if current is None else merge_health(current, theirs)

    return fn
