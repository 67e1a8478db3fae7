"""Ordering: route plans, state keys, rotation order, cooling last, half-open slots."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from openclaw_failover._model import Candidate, Profile, Provider, Route, Secret, Tier
from openclaw_failover._ordering import (
    key_model_key,
    model_key,
    order_profiles,
    plan_route,
    profile_key,
    scope_key,
    soonest_cooling,
)
from openclaw_failover._ports import Health

NOW = 1_800_000_000.0


def _profile(provider: str, label: str, *, key: str | None = "k", fp: str = "") -> Profile:
    secret = Secret(f"{key}-{label}") if key is not None else None
    return Profile(f"{provider}:{label}", provider, secret, "config", fingerprint=fp or label)


def _provider(pid: str, labels: tuple[str, ...], *, explicit: bool = True) -> Provider:
    return Provider(
        pid,
        "openai-completions",
        "http://127.0.0.1:1",
        profiles=tuple(_profile(pid, label) for label in labels),
        explicit_order=explicit,
    )


def _plan(explicit: bool = True, banned: tuple[str, ...] = ()):
    providers = {
        "a": _provider("a", ("k1", "k2", "k3"), explicit=explicit),
        "b": _provider("b", ("k1",)),
        "local": Provider("local", "ollama", "http://127.0.0.1:2"),
    }
    route = Route(
        "auto",
        (
            Candidate("a", "m1"),
            Candidate("b", "m2"),
            Candidate("local", "q", Tier.LOCAL),
        ),
    )
    return plan_route(route, MappingProxyType(providers), banned=banned)


def test_state_keys_carry_profile_id_and_fingerprint() -> None:
    """A replaced key (new fingerprint) gets new state keys; the model key has no key in it."""
    old = _profile("a", "team", fp="f1")
    new = _profile("a", "team", fp="f2")
    assert profile_key(old) != profile_key(new)
    assert key_model_key(old, "m") != key_model_key(new, "m")
    assert "k-team" not in profile_key(old)
    assert model_key(Candidate("a", "m")) == "model:a/m"


def test_scope_keys() -> None:
    """Each cooldown scope lands on its own key (the model's, for a keyless provider);
    ``none`` lands nowhere."""
    profile = _profile("a", "x")
    candidate = Candidate("a", "m")
    assert scope_key("key", candidate, profile) == profile_key(profile)
    assert scope_key("key_model", candidate, profile) == key_model_key(profile, "m")
    assert scope_key("model", candidate, None) == model_key(candidate)
    assert scope_key("key", candidate, None) == model_key(candidate)  # no key: its model
    assert scope_key("key_model", candidate, None) == model_key(candidate)
    assert scope_key("none", candidate, profile) is None


def test_plan_lists_slots_and_keys_once() -> None:
    """Every candidate gets its slots in config order; a keyless provider gets one slot."""
    plan = _plan()
    assert [len(g) for g in plan.groups] == [3, 1, 1]
    assert plan.groups[2][0].profile is None
    assert plan.groups[2][0].profile_id == "-"
    assert len(plan.keys) == len(set(plan.keys)) == 1 + 3 * 2 + 1 + 2 + 1


def test_banned_and_unresolved_keys_get_no_slot() -> None:
    """A banned model and a profile without a resolved key are never routed to."""
    plan = _plan(banned=("b/m2",))
    assert plan.groups[1] == ()
    providers = {"a": Provider("a", "x", "u", profiles=(_profile("a", "gone", key=None),))}
    route = Route("auto", (Candidate("a", "m"),))
    assert plan_route(route, providers).groups == ((),)


def test_explicit_order_kept_cooling_last_by_soonest_expiry() -> None:
    """Explicit order stays; cooling profiles go last, soonest expiry first."""
    group = _plan().groups[0]
    k1, k2, k3 = group
    health = {
        k1.keys[1]: Health(cooldown_until=NOW + 300, cooldown_reason="auth"),
        k2.keys[2]: Health(cooldown_until=NOW + 30, cooldown_reason="rate_limit"),
    }
    views = order_profiles(group, health, now=NOW)
    assert [v.slot for v in views] == [k3, k2, k1]
    assert [v.state for v in views] == ["ready", "cooling", "cooling"]
    assert views[1].until == NOW + 30
    assert views[1].reason == "rate_limit"
    assert soonest_cooling(views) == views[1]


def test_least_recently_used_first_without_explicit_order() -> None:
    """Without an explicit order the oldest-used key goes first (round robin)."""
    group = _plan(explicit=False).groups[0]
    k1, k2, k3 = group
    health = {
        k1.keys[1]: Health(last_used_at=NOW - 1),
        k2.keys[1]: Health(last_used_at=NOW - 30),
        k3.keys[1]: Health(last_used_at=NOW - 10),
    }
    assert [v.slot for v in order_profiles(group, health, now=NOW)] == [k2, k3, k1]


def test_session_pin_goes_first_unless_cooling() -> None:
    """The pinned profile leads; a cooling pin is rotated around."""
    group = _plan(explicit=False).groups[0]
    k3 = group[2]
    assert order_profiles(group, {}, now=NOW, pin="a:k3")[0].slot == k3
    cooling = {k3.keys[1]: Health(cooldown_until=NOW + 5, cooldown_reason="auth")}
    assert order_profiles(group, cooling, now=NOW, pin="a:k3")[-1].slot == k3


def test_expired_cooldown_is_half_open_and_names_keys_to_claim() -> None:
    """An expired cooldown with no result yet is half-open; a live claim makes it probing."""
    group = _plan().groups[0]
    model = group[0].keys[0]
    expired = Health(cooldown_until=NOW - 1, cooldown_reason="server_error")
    view = order_profiles(group, {model: expired}, now=NOW)[0]
    assert view.state == "half_open"
    assert view.usable
    assert view.claim_keys == (model,)
    claimed = Health(
        cooldown_until=NOW - 1, cooldown_reason="server_error", probe_owner="x", probe_until=NOW + 9
    )
    views = order_profiles(group, {model: claimed}, now=NOW)
    assert {v.state for v in views} == {"probing"}
    assert not any(v.usable for v in views)


def test_model_cooldown_cools_every_key_of_the_candidate() -> None:
    """A model-scoped cooldown makes every slot of the candidate cooling."""
    group = _plan().groups[0]
    health = {group[0].keys[0]: Health(cooldown_until=NOW + 5, cooldown_reason="timeout")}
    assert {v.state for v in order_profiles(group, health, now=NOW)} == {"cooling"}


@given(
    untils=st.lists(st.none() | st.floats(-100, 100), min_size=3, max_size=3),
    used=st.lists(st.floats(0, 100), min_size=3, max_size=3),
    explicit=st.booleans(),
    pin=st.sampled_from([None, "a:k1", "a:k2", "a:zz"]),
)
def test_ordering_is_a_permutation_with_usable_first(
    untils: list[float | None], used: list[float], explicit: bool, pin: str | None
) -> None:
    """Property: the order is a permutation of the slots, usable ones before waiting ones."""
    group = _plan(explicit=explicit).groups[0]
    health = {}
    for slot, until, last in zip(group, untils, used, strict=True):
        reason = None if until is None else "auth"
        health[slot.keys[1]] = Health(
            cooldown_until=NOW + (until or 0), cooldown_reason=reason, last_used_at=last
        )
    views = order_profiles(group, health, now=NOW, pin=pin)
    assert sorted(v.slot.profile_id for v in views) == sorted(s.profile_id for s in group)
    flags = [v.usable for v in views]
    assert flags == sorted(flags, reverse=True)
    waiting = [v.until for v in views if not v.usable]
    assert waiting == sorted(waiting)
