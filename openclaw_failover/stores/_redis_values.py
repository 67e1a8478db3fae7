"""A health value as the Redis store keeps it: JSON bytes, and the checks that refuse a value
it did not write (another app's key under the namespace, a hand-edited one)."""

from __future__ import annotations

import math

import orjson

from .._errors import StateStoreError
from .._ports import Health

__all__ = ["_UnreadableValueError", "as_bytes", "decode", "decode_or_none", "encode"]


def encode(health: Health | None) -> bytes | None:
    return None if health is None else orjson.dumps(health.to_json())


def as_bytes(raw: bytes | str | None) -> bytes | None:
    return raw.encode() if isinstance(raw, str) else raw


# The class keeps its leading underscore: its name shows in logs and tracebacks, as before.
class _UnreadableValueError(StateStoreError):
    """A key under our namespace holds something that is not a health value we wrote."""

    def __init__(self, key: str) -> None:
        super().__init__(f"state key {key!r} holds an unreadable value in redis")


def decode(key: str, raw: bytes | str | None) -> Health | None:
    if raw is None:
        return None
    try:
        health = Health.from_json(orjson.loads(raw))
    except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
        raise _UnreadableValueError(key) from exc
    if not _plausible(health):
        raise _UnreadableValueError(key)
    return health


def decode_or_none(key: str, raw: bytes | str | None) -> Health | None:
    try:
        return decode(key, raw)
    except _UnreadableValueError:
        return None


def _plausible(health: Health) -> bool:
    """Whether a decoded value has the types we write: an infinite ``*_until`` (a string
    "1e999") would crash the TTL, a string counter the engine's arithmetic."""
    h = health
    times = (h.cooldown_until, h.probe_until, h.last_failure_at, h.last_used_at, h.last_good_at)
    counts = health.failure_counts.values()
    return (
        all(math.isfinite(t) for t in times)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in counts)
        and all(isinstance(r, str) for r in health.failure_counts)
        and isinstance(health.cooldown_reason, str | None)
        and isinstance(health.probe_owner, str | None)
    )
