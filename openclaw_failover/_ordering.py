"""Candidate and profile ordering, and the state keys every part of the package shares.

Pure: health snapshots and ``now`` are passed in. A route is planned once per route table
(:func:`plan_route`: slots and their state keys, precomputed); per request,
:func:`order_profiles` puts one candidate's profiles in rotation order with cooling ones last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ._model import Candidate, CooldownScope, Profile, Provider, Route
from ._policy import HealthState, health_state
from ._ports import Health

__all__ = [
    "RoutePlan",
    "Slot",
    "SlotView",
    "key_model_key",
    "model_key",
    "order_profiles",
    "plan_route",
    "profile_key",
    "scope_key",
    "soonest_cooling",
    "view_slot",
]


def profile_key(profile: Profile) -> str:
    """State key of one key: profile id plus its salted fingerprint (a new key starts fresh)."""
    return f"key:{profile.id}#{profile.fingerprint}"


def key_model_key(profile: Profile, model: str) -> str:
    """State key of one key on one model (rate limits are scoped here)."""
    return f"km:{profile.id}#{profile.fingerprint}|{model}"


def model_key(candidate: Candidate) -> str:
    """State key of one candidate (provider/model), shared by all its keys."""
    return f"model:{candidate.provider}/{candidate.model}"


def scope_key(scope: CooldownScope, candidate: Candidate, profile: Profile | None) -> str | None:
    """The state key a cooldown of ``scope`` lands on; None when the scope has no key here."""
    if scope == "model":
        return model_key(candidate)
    if profile is None or scope == "none":
        return None
    if scope == "key":
        return profile_key(profile)
    return key_model_key(profile, candidate.model)


@dataclass(frozen=True, slots=True)
class Slot:
    """One (candidate, profile) pair of a route with its state keys (model key first)."""

    index: int
    candidate: Candidate
    provider: Provider
    profile: Profile | None
    keys: tuple[str, ...]
    #: This slot seen with no stored state (built once, reused by every request).
    ready_view: SlotView = field(init=False, repr=False, compare=False)

    @property
    def profile_id(self) -> str:
        """The profile id, or ``-`` for a provider without keys (a local server)."""
        return self.profile.id if self.profile is not None else "-"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ready_view", SlotView(self, "ready"))


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """A route, planned once per table: per candidate its slots in configured key order."""

    route: Route
    groups: tuple[tuple[Slot, ...], ...]
    keys: tuple[str, ...]
    group_keys: tuple[tuple[str, ...], ...] = ()


def _usable(profile: Profile) -> bool:
    return profile.secret is not None


def plan_route(
    route: Route, providers: Mapping[str, Provider], *, banned: Sequence[str] = ()
) -> RoutePlan:
    """Slots for every candidate whose provider is known and which is not banned.

    A provider without profiles (a local server) gets one slot without a profile; profiles
    whose key could not be resolved get none.
    """
    groups: list[tuple[Slot, ...]] = []
    group_keys: list[tuple[str, ...]] = []
    keys: list[str] = []
    banned_set = frozenset(banned)
    for index, candidate in enumerate(route.candidates):
        provider = providers.get(candidate.provider)
        if provider is None or candidate.ref in banned_set or candidate.model in banned_set:
            groups.append(())
            group_keys.append(())
            continue
        mkey = model_key(candidate)
        keys.append(mkey)
        profiles: tuple[Profile | None, ...] = tuple(p for p in provider.profiles if _usable(p))
        if not provider.profiles:
            profiles = (None,)
        group = []
        for profile in profiles:
            slot_keys: tuple[str, ...] = (mkey,)
            if profile is not None:
                slot_keys = (mkey, profile_key(profile), key_model_key(profile, candidate.model))
                keys.extend(slot_keys[1:])
            group.append(Slot(index, candidate, provider, profile, slot_keys))
        groups.append(tuple(group))
        group_keys.append(tuple(dict.fromkeys(k for slot in group for k in slot.keys)))
    return RoutePlan(route, tuple(groups), tuple(dict.fromkeys(keys)), tuple(group_keys))


@dataclass(frozen=True, slots=True)
class SlotView:
    """A slot as one request sees it: its combined state, expiry, reason and keys to claim."""

    slot: Slot
    state: HealthState
    until: float = 0.0
    reason: str | None = None
    claim_keys: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        """Ready, or half-open (usable once its probe is claimed)."""
        return self.state in ("ready", "half_open")


_RANK: Mapping[HealthState, int] = {"ready": 0, "half_open": 1, "probing": 2, "cooling": 3}


def view_slot(slot: Slot, health: Mapping[str, Health], now: float) -> SlotView:
    """The worst state over the slot's keys (cooling > probing > half-open > ready)."""
    found_any = [h for h in map(health.get, slot.keys) if h is not None]
    # Fast path: no key has a live or expired cooldown, nor a live probe claim.
    if all(h.cooldown_reason is None and h.cooldown_until <= now for h in found_any):
        return slot.ready_view
    worst: HealthState = "ready"
    until, reason = 0.0, None
    claims: list[str] = []
    for key in slot.keys:
        found = health.get(key)
        if found is None:
            continue
        state = health_state(found, now)
        if state == "ready":
            continue
        if state == "half_open":
            claims.append(key)
        expiry = found.cooldown_until if state == "cooling" else found.probe_until
        if _RANK[state] > _RANK[worst] or (state == worst and expiry > until):
            worst, until, reason = state, expiry, found.cooldown_reason
    return SlotView(slot, worst, until, reason, tuple(claims))


def order_profiles(
    group: Sequence[Slot],
    health: Mapping[str, Health],
    *,
    now: float,
    pin: str | None = None,
    last_used: Mapping[str, float] | None = None,
) -> list[SlotView]:
    """One candidate's slots in rotation order: usable first, then cooling by soonest expiry.

    Usable ones keep the explicit order when the provider has one (``auth.order`` or the
    ``auth`` list), else the session's pinned profile goes first and the rest follow least
    recently used first (round robin, OpenClaw 4.5). ``last_used`` (profile key -> epoch s)
    adds what this process knows beyond the stored ``last_used_at``.
    """
    views = [view_slot(slot, health, now) for slot in group]
    usable = [v for v in views if v.usable]
    waiting = [v for v in views if not v.usable]
    if len(usable) > 1 and not group[0].provider.explicit_order:
        usable.sort(key=lambda v: _last_used(v.slot, health, last_used))
        if pin is not None:
            usable.sort(key=lambda v: v.slot.profile_id != pin)
    if len(waiting) > 1:
        waiting.sort(key=lambda v: v.until)
    return usable + waiting


def _last_used(
    slot: Slot, health: Mapping[str, Health], local: Mapping[str, float] | None
) -> float:
    if len(slot.keys) < 2:
        return 0.0
    key = slot.keys[1]
    found = health.get(key)
    stored = found.last_used_at if found is not None else 0.0
    return max(stored, local.get(key, 0.0)) if local else stored


def soonest_cooling(views: Sequence[SlotView]) -> SlotView | None:
    """The cooling slot whose cooldown ends soonest (the one to probe when all are cooling)."""
    cooling = [v for v in views if v.state == "cooling"]
    return min(cooling, key=lambda v: v.until) if cooling else None
