"""Candidate health as the proxy reports it (``/readyz``, the cooldown gauge), read from the store.

A candidate is usable when its model-wide state is healthy and at least one of its keys (or
the keyless provider) is healthy, using the same state keys and states as ``status``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._model import Candidate, RouteTable
from .._ports import StateStore
from .._status import candidate_keys, health_state

HEALTHY = "healthy"


def _distinct(table: RouteTable) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for route in table.routes.values():
        for c in route.candidates:
            seen.setdefault(c.ref, c)
    return list(seen.values())


async def candidate_states(
    table: RouteTable, store: StateStore, *, now: float, only: Iterable[Candidate] | None = None
) -> dict[str, str]:
    """``provider/model`` -> healthy | cooling | disabled | probing, for every candidate."""
    candidates = list(only) if only is not None else _distinct(table)
    plans = [(c, candidate_keys(c, table.providers[c.provider])) for c in candidates]
    wanted = sorted({k for _, keys in plans for ks in keys.values() for k in ks})
    snapshot = await store.snapshot(wanted)
    states: dict[str, str] = {}
    for candidate, keys in plans:
        model_state = health_state(snapshot.get(keys[""][0]), now)
        if model_state != HEALTHY:
            states[candidate.ref] = model_state
            continue
        per_key = [
            _worst(health_state(snapshot.get(k), now) for k in ks)
            for pid, ks in keys.items()
            if pid
        ]
        # the candidate is as good as its best key
        states[candidate.ref] = min(per_key, key=_rank, default=HEALTHY)
    return states


_RANK = {HEALTHY: 0, "probing": 1, "cooling": 2, "disabled": 3}


def _rank(state: str) -> int:
    return _RANK.get(state, 2)


def _worst(states: Iterable[str]) -> str:
    return max(states, key=_rank, default=HEALTHY)
