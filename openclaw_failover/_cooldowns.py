"""``cooldowns clear``: pick the state keys an operator names and clear them atomically.

Each key is cleared with one ``store.update`` (atomic in every backend), so a running proxy
sees it on its next request. Each clear is audited as a ``manual_intervention``.
OpenClaw's own state is never written here; the CLI prints how to clear it by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._errors import StateStoreError
from ._model import RouteTable
from ._ports import AuditRecord, AuditSink, Health, StateStore
from ._status import candidate_keys, cleared, health_state

__all__ = ["ClearResult", "clear_cooldowns", "select_keys"]


@dataclass(frozen=True, slots=True)
class ClearResult:
    """What a clear did: the keys it cleared (with the state they were in)."""

    cleared: Mapping[str, str]
    selected: int


def select_keys(
    table: RouteTable,
    existing: Mapping[str, Health],
    *,
    provider: str | None = None,
    profile: str | None = None,
    everything: bool = False,
) -> dict[str, tuple[str, str]]:
    """State key -> (provider, profile id or "") for the operator's selection."""
    chosen: dict[str, tuple[str, str]] = {}
    for route in table.routes.values():
        for candidate in route.candidates:
            if provider not in (None, candidate.provider) and not everything:
                continue
            keys = candidate_keys(candidate, table.providers[candidate.provider])
            for profile_id, state_keys in keys.items():
                if profile is not None and not everything and profile_id != profile:
                    continue
                for key in state_keys:
                    chosen[key] = (candidate.provider, profile_id)
    if everything:
        for key in existing:
            chosen.setdefault(key, ("", ""))
    return chosen


async def clear_cooldowns(
    table: RouteTable,
    store: StateStore,
    *,
    now: float,
    audit: AuditSink | None = None,
    provider: str | None = None,
    profile: str | None = None,
    everything: bool = False,
) -> ClearResult:
    """Clear every selected key that is cooling, disabled or probing; audit each one."""
    existing = await store.items()
    selection = select_keys(
        table, existing, provider=provider, profile=profile, everything=everything
    )
    done: dict[str, str] = {}
    for key, (owner, profile_id) in sorted(selection.items()):
        before = existing.get(key)
        state = health_state(before, now)
        if before is None or (state == "healthy" and not before.failure_counts):
            continue
        await store.update(key, cleared)
        fallen_back = getattr(store, "degraded_reason", None)
        if fallen_back:  # the write went to this process's memory: it dies with the command
            raise StateStoreError(
                f"{key} not cleared ({len(done)} cleared before it): the state store failed "
                f"while writing ({fallen_back})"
            )
        done[key] = state
        if audit is not None:
            audit.emit(
                AuditRecord(
                    event="manual_intervention",
                    ts=now,
                    provider=owner or None,
                    profile=profile_id or None,
                    reason=before.cooldown_reason,
                    route_version=table.version,
                    config_path=table.config_path,
                    detail=f"cooldowns clear: {key} was {state}",
                )
            )
    return ClearResult(cleared=done, selected=len(selection))
