"""Candidate and profile ordering, and the state keys every part of the package shares.

Pure: health snapshots and ``now`` are passed in. A route is planned once per route table
(:func:`plan_route`: slots and their state keys, precomputed); per request,
:func:`order_profiles` puts one candidate's profiles in rotation order with cooling ones last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import NamedTuple

from ._model import Candidate, CooldownScope, Profile, Provider, Route
from ._policy import HealthState, health_state
from ._ports import Health

__all__ = [
    "RoutePlan",
    "Slot",
    "SlotView",
    "key_model_key",
    "model_key",
    "no_cooldown",
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
    """The state key a cooldown of ``scope`` lands on; None for scope ``none``. A provider
    without keys (a local server) has only its model to cool, for the key scopes too."""
    if scope == "none":
        return None
    if scope == "model" or profile is None:
        return model_key(candidate)
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
    #: The profile id, or ``-`` for a provider without keys (a local server).
    profile_id: str = field(init=False, repr=False, compare=False)
    #: ``(provider, model, profile id, tier)``: who this slot is, as audit lines name it.
    labels: tuple[str, str, str, str] = field(init=False, repr=False, compare=False)
    #: The key's own state key (``keys[1]``, :func:`profile_key`); None without a profile.
    own_key: str | None = field(init=False, repr=False, compare=False)
    #: This slot seen with no stored state (built once, reused by every request).
    ready_view: SlotView = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        profile_id = self.profile.id if self.profile is not None else "-"
        candidate = self.candidate
        labels = (candidate.provider, candidate.model, profile_id, candidate.tier.value)
        object.__setattr__(self, "profile_id", profile_id)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "own_key", self.keys[1] if len(self.keys) > 1 else None)
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


class SlotView(NamedTuple):
    """A slot as one request sees it: its combined state, expiry, reason and keys to claim.

    A ``NamedTuple`` (immutable, cheap to build): a walk builds one for every key with a
    cooldown it looks at (a ready slot reuses its ``ready_view``).
    """

    slot: Slot
    state: HealthState
    until: float = 0.0
    reason: str | None = None
    claim_keys: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        """Ready, or half-open (usable once its probe is claimed)."""
        return self.state in ("ready", "half_open")


_ready_view = attrgetter("ready_view")
_RANK: Mapping[HealthState, int] = {"ready": 0, "half_open": 1, "probing": 2, "cooling": 3}
_USABLE: frozenset[HealthState] = frozenset({"ready", "half_open"})


def view_slot(slot: Slot, health: Mapping[str, Health], now: float) -> SlotView:
    """The worst state over the slot's keys (cooling > probing > half-open > ready)."""
    for key in slot.keys:
        found = health.get(key)
        # Only a live or expired cooldown makes a key anything but ready (a probe claim
        # matters only on an expired one).
        if found is not None and (found.cooldown_reason is not None or found.cooldown_until > now):
            return _worst_view(slot, health, now)
    return slot.ready_view


def _worst_view(slot: Slot, health: Mapping[str, Health], now: float) -> SlotView:
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
    clear: bool = False,
) -> list[SlotView]:
    """One candidate's slots in rotation order: usable first, then cooling by soonest expiry.

    Usable ones keep the explicit order when the provider has one (``auth.order`` or the
    ``auth`` list), else the session's pinned profile goes first and the rest follow least
    recently used first (round robin, OpenClaw 4.5). ``last_used`` (profile key -> epoch s)
    adds what this process knows beyond the stored ``last_used_at``. ``clear`` says that the
    caller found no cooldown on any of the group's keys (see :func:`no_cooldown`): every slot
    is ready, and only the rotation is left to work out.
    """
    usable: list[SlotView]
    waiting: list[SlotView] = []
    if clear:
        usable = list(map(_ready_view, group))  # no comprehension frame: this runs per request
    else:
        usable = []
        for slot in group:
            view = view_slot(slot, health, now)
            (usable if view.state in _USABLE else waiting).append(view)
    if len(usable) > 1 and not group[0].provider.explicit_order:
        local = last_used or {}

        def used_at(view: SlotView) -> float:
            key = view.slot.own_key
            if key is None:
                return 0.0
            found = health.get(key)
            stored = found.last_used_at if found is not None else 0.0
            mine = local.get(key, 0.0)
            return mine if mine > stored else stored

        usable.sort(key=used_at)
        if pin is not None:
            usable.sort(key=lambda v: v.slot.profile_id != pin)
    if len(waiting) > 1:
        waiting.sort(key=lambda v: v.until)
    usable += waiting
    return usable


def no_cooldown(found: Iterable[Health], now: float) -> bool:
    """True when none of ``found`` holds a live or expired cooldown: every slot whose keys
    these are is ready (the test :func:`view_slot` makes, done once for a whole group)."""
    for health in found:
        if health.cooldown_reason is not None or health.cooldown_until > now:
            return False
    return True


def soonest_cooling(views: Sequence[SlotView]) -> SlotView | None:
    """The cooling slot whose cooldown ends soonest (the one to probe when all are cooling)."""
    cooling = [v for v in views if v.state == "cooling"]
    return min(cooling, key=lambda v: v.until) if cooling else None
