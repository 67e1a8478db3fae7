"""``status``: the route table with each candidate's and key's state, the local tier's health,
and (read-only) the cooldowns OpenClaw itself holds. Gathering is the only I/O here; the
result is a frozen value with ``to_json`` that the CLI renders. Never a key, only profile ids
and where each key came from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ._catalog import env_prefix
from ._model import Candidate, Profile, Provider, RouteTable, Tier
from ._openclaw_state import OpenClawState
from ._ports import Health, StateStore, Transport, TransportFailure
from ._status_proxy import ProxyView
from .config._keys import key_variables
from .config._redact import mask_url
from .providers.ollama import has_model

__all__ = [
    "KeyStatus",
    "LocalHealth",
    "StatusReport",
    "candidate_keys",
    "cleared",
    "damaged_records",
    "gather_status",
    "health_state",
    "keys_not_in_shell",
    "local_health",
    "openclaw_json",
    "unset_here",
    "with_keys_elsewhere",
]

_LIST_TIMEOUT_S = 5.0


def health_state(health: Health | None, now: float) -> str:
    """healthy, cooling, disabled or probing, for one stored health (status adds "unknown"
    when the store was not read, and "no key")."""
    if health is None:
        return "healthy"
    if health.cooldown_until > now:
        return "disabled" if health.disabled else "cooling"
    if health.probe_owner and health.probe_until > now:
        return "probing"
    return "healthy"


def cleared(health: Health | None) -> Health | None:
    """The operator's clear: no cooldown, no disable, no probe claim, counters reset.

    ``last_good_at`` / ``last_used_at`` are kept (they order keys, they are not penalties).
    A zero ``*_until`` means cleared, which every store accepts despite forward-only writes.
    """
    if health is None:
        return None
    return replace(
        health,
        cooldown_until=0.0,
        cooldown_reason=None,
        disabled=False,
        failure_counts=MappingProxyType({}),
        probe_owner=None,
        probe_until=0.0,
    )


def candidate_keys(candidate: Candidate, provider: Provider) -> dict[str, tuple[str, ...]]:
    """State keys of a candidate: ``model`` and, per profile id, its key and key+model keys."""
    from ._ordering import key_model_key, model_key, profile_key

    keys: dict[str, tuple[str, ...]] = {"": (model_key(candidate),)}
    for profile in provider.profiles:
        keys[profile.id] = (profile_key(profile), key_model_key(profile, candidate.model))
    return keys


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """One profile of one candidate (``profile`` is empty for the model-wide row)."""

    profile: str
    source: str
    state: str
    until: float
    reason: str | None
    failure_counts: Mapping[str, int]
    last_good_at: float
    last_used_at: float
    #: Why the state is what it is when not read, e.g. "key not set in this shell (VAR)".
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "profile": self.profile,
            "source": self.source,
            "state": self.state,
            "note": self.note,
            "until": self.until or None,
            "reason": self.reason,
            "failure_counts": dict(self.failure_counts),
            "last_good_at": self.last_good_at or None,
            "last_used_at": self.last_used_at or None,
        }


@dataclass(frozen=True, slots=True)
class CandidateStatus:
    """One candidate of a route, its model-wide state and its keys."""

    route: str
    ref: str
    tier: str
    model: KeyStatus
    keys: tuple[KeyStatus, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "route": self.route,
            "candidate": self.ref,
            "tier": self.tier,
            "state": self.model.to_json(),
            "keys": [k.to_json() for k in self.keys],
        }


@dataclass(frozen=True, slots=True)
class LocalHealth:
    """Is the local tier up, and is the configured model pulled?"""

    provider: str
    model: str
    base_url: str
    reachable: bool
    present: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "reachable": self.reachable,
            "present": self.present,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything ``status`` shows."""

    now: float
    config_path: str | None
    kind: str
    version: str
    candidates: tuple[CandidateStatus, ...]
    local: tuple[LocalHealth, ...]
    openclaw: OpenClawState
    store_error: str | None = None
    other_keys: Mapping[str, Health] = field(default_factory=dict)
    store_degraded: str | None = None
    proxy: ProxyView | None = None
    #: Damaged records the file store's journal skipped (its state there is not read).
    store_damaged_records: int = 0
    #: Key variables not set in this shell (the service's environment may have them).
    keys_not_in_shell: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``status --json`` document."""
        return {
            "now": self.now,
            "config_path": self.config_path,
            "kind": self.kind,
            "route_version": self.version,
            "store_error": self.store_error,
            "store_degraded": self.store_degraded,
            "store_damaged_records": self.store_damaged_records,
            "keys_not_in_shell": list(self.keys_not_in_shell),
            "proxy": self.proxy.to_json() if self.proxy is not None else None,
            "candidates": [c.to_json() for c in self.candidates],
            "local": [x.to_json() for x in self.local],
            "openclaw": openclaw_json(self.openclaw, self.now),
            "other_state": {
                k: {
                    "state": health_state(h, self.now),
                    "until": h.cooldown_until,
                    "reason": h.cooldown_reason,
                }
                for k, h in self.other_keys.items()
            },
        }


def openclaw_json(state: OpenClawState, now: float) -> dict[str, Any]:
    """OpenClaw's own state as status shows it: where it was read and every window."""
    return {
        "state_dir": state.state_dir,
        "read": list(state.read),
        "unreadable": list(state.unreadable),
        "cooldowns": [c.to_json(now) for c in state.cooldowns],
    }


def _worst(healths: Sequence[Health | None]) -> Health | None:
    present = [h for h in healths if h is not None]
    return max(present, key=lambda h: (h.cooldown_until, h.disabled), default=None)


def unset_here(profile: Profile) -> tuple[str, ...]:
    """The variables an env key without a value names (not set in this process's env)."""
    return () if profile.secret is not None else key_variables(profile)


def keys_not_in_shell(provider: Provider) -> tuple[str, ...]:
    """The variables a cloud provider with no usable key here lacks (OpenClaw's name for it
    when the config gives no key); () when it has one. Its key state keys (fingerprints of
    the key values) cannot be computed here."""
    if any(p.secret is not None and p.source != "dummy" for p in provider.profiles):
        return ()
    if not provider.profiles:
        return (f"{env_prefix(provider.id)}_API_KEY",)
    return tuple(dict.fromkeys(name for p in provider.profiles for name in unset_here(p)))


def _not_set(profile: Profile | None, row: KeyStatus) -> KeyStatus:
    """``row`` as "unknown" when its key is not set in this shell: the service may hold it,
    and the key's state keys cannot be computed without its value."""
    names = unset_here(profile) if profile is not None else ()
    if not names:
        return row
    return replace(row, state="unknown", note=f"key not set in this shell ({', '.join(names)})")


def _key_status(
    profile: Profile | None, healths: Sequence[Health | None], now: float, *, known: bool = True
) -> KeyStatus:
    """One row; ``known`` False when the shared state was not read (its state is "unknown",
    never "healthy" for lack of data)."""
    worst = _worst(healths)
    counts: dict[str, int] = {}
    for health in healths:
        for reason, n in (health.failure_counts if health else {}).items():
            counts[reason] = counts.get(reason, 0) + n
    state = health_state(worst, now) if known else "unknown"
    if profile is not None and profile.secret is None:
        state = "no key"
    source = ""
    if profile is not None:
        source = (
            f"{profile.source}:{profile.source_name}" if profile.source_name else profile.source
        )
    return KeyStatus(
        profile=profile.id if profile else "",
        source=source,
        state=state,
        until=worst.cooldown_until if worst and worst.cooldown_until > now else 0.0,
        reason=worst.cooldown_reason if worst and worst.cooldown_until > now else None,
        failure_counts=counts,
        last_good_at=max((h.last_good_at for h in healths if h), default=0.0),
        last_used_at=max((h.last_used_at for h in healths if h), default=0.0),
    )


async def local_health(provider: Provider, model: str, transport: Transport | None) -> LocalHealth:
    """Ask the local tier for its models; the URL it reports has its credentials masked."""
    shown = mask_url(provider.base_url)
    base = LocalHealth(provider.id, model, shown, reachable=False, present=False)
    if transport is None:
        return replace(base, detail=f"no transport for api {provider.api!r}")
    profile = provider.profiles[0] if provider.profiles else None
    try:
        models = await asyncio.wait_for(transport.list_models(provider, profile), _LIST_TIMEOUT_S)
    except TimeoutError:
        return replace(base, detail=f"no answer within {_LIST_TIMEOUT_S:g} s")
    except Exception as exc:  # any transport failure is a finding, not a crash
        return replace(
            base, detail=exc.kind if isinstance(exc, TransportFailure) else type(exc).__name__
        )
    present = has_model(model, models)
    detail = "" if present else f"model not pulled (found {len(models)} models)"
    return replace(base, reachable=True, present=present, detail=detail)


async def gather_status(
    table: RouteTable,
    *,
    store: StateStore,
    transports: Mapping[str, Transport],
    now: float,
    openclaw: OpenClawState,
    proxy: ProxyView | None = None,
) -> StatusReport:
    """Read the store once, ask each local tier for its models, and build the report.

    ``proxy`` is what the running proxy said (:func:`~._status_proxy.proxy_view`), if asked.
    A store that fell back to local state (Redis unreachable) is reported as degraded.
    """
    plan: list[tuple[str, Candidate, Provider, dict[str, tuple[str, ...]]]] = []
    for route in table.routes.values():
        for candidate in route.candidates:
            provider = table.providers[candidate.provider]
            plan.append((route.name, candidate, provider, candidate_keys(candidate, provider)))
    wanted = sorted({k for *_, keys in plan for ks in keys.values() for k in ks})
    store_error = None
    try:
        snapshot, everything = await store.snapshot(wanted), await store.items()
    except Exception as exc:  # shown as a finding; never a stack trace (the CLI masks it)
        snapshot, everything = {}, {}
        store_error = f"{type(exc).__name__}: {exc}"
    # Degraded with nothing held, the store answered from an empty local state (a fresh CLI
    # process): no state was read, and every row would claim "healthy" for lack of data.
    known = store_error is None and (bool(everything) or _degraded(store) is None)
    candidates = []
    for route_name, candidate, provider, keys in plan:
        rows = tuple(
            _key_status(p, [snapshot.get(k) for k in keys[p.id]], now, known=known)
            for p in provider.profiles
        )
        model_row = _key_status(None, [snapshot.get(keys[""][0])], now, known=known)
        candidates.append(
            CandidateStatus(route_name, candidate.ref, str(candidate.tier), model_row, rows)
        )
    locals_ = {(c.provider, c.model) for _, c, _, _ in plan if c.tier == Tier.LOCAL}
    local = await asyncio.gather(
        *(
            local_health(table.providers[p], m, transports.get(table.providers[p].api))
            for p, m in sorted(locals_)
        )
    )
    other = {k: h for k, h in everything.items() if k not in set(wanted)}
    return StatusReport(
        now=now,
        config_path=table.config_path,
        kind=table.kind,
        version=table.version,
        candidates=tuple(candidates),
        local=tuple(local),
        openclaw=openclaw,
        store_error=store_error,
        other_keys=other,
        store_degraded=_degraded(store),
        proxy=proxy,
        store_damaged_records=damaged_records(store),
    )


def cloud_providers(table: RouteTable) -> frozenset[str]:
    """The providers some route reaches on the cloud tier (the ones that need a key)."""
    return frozenset(
        c.provider for r in table.routes.values() for c in r.candidates if c.tier == Tier.CLOUD
    )


def with_keys_elsewhere(report: StatusReport, table: RouteTable) -> StatusReport:
    """``report`` for a shell that may lack some of the service's keys (the whole of a
    provider's, or some): each key not set here is "unknown" with a note, never "healthy" or
    "no key", and ``keys_not_in_shell`` names the variables; unchanged when none is missing."""
    cloud = cloud_providers(table)
    profiles = {p.id: p for pid in cloud for p in table.providers[pid].profiles}
    candidates = tuple(
        replace(c, keys=tuple(_not_set(profiles.get(k.profile), k) for k in c.keys))
        for c in report.candidates
    )
    names = [n for pid in sorted(cloud) for n in keys_not_in_shell(table.providers[pid])]
    names += [n for p in profiles.values() for n in unset_here(p)]
    return replace(report, candidates=candidates, keys_not_in_shell=tuple(dict.fromkeys(names)))


def _degraded(store: StateStore) -> str | None:
    """Why a store serves local state instead of its shared backend, or None."""
    reason = getattr(store, "degraded_reason", None)
    return reason if isinstance(reason, str) else None


def damaged_records(store: StateStore) -> int:
    """How many records of a file store's journal failed their checksum when last read (0 for
    the other stores, which have no journal)."""
    count = getattr(store, "damaged_records", 0)
    return count if isinstance(count, int) else 0
