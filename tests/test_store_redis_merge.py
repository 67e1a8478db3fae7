"""The pure rules under RedisStateStore: the forward-only guard and the post-outage merge."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from openclaw_failover._ports import Health
from openclaw_failover.stores.memory import forward_only
from openclaw_failover.stores.redis import merge_health

NOW = 1_800_000_000.0

times = st.one_of(st.just(0.0), st.floats(min_value=NOW - 1e5, max_value=NOW + 1e5))
healths = st.builds(
    Health,
    cooldown_until=times,
    cooldown_reason=st.sampled_from([None, "rate_limit", "billing", "auth"]),
    disabled=st.booleans(),
    failure_counts=st.dictionaries(
        st.sampled_from(["rate_limit", "timeout", "auth"]), st.integers(0, 50), max_size=3
    ).map(MappingProxyType),
    last_failure_at=times,
    last_used_at=times,
    last_good_at=times,
    probe_owner=st.sampled_from([None, "gw-1", "gw-2"]),
    probe_until=times,
)


def test_shorter_cooldown_keeps_the_old_expiry_and_reason() -> None:
    """A nonzero cooldown_until below the stored one is lifted back, with the stored reason."""
    old = Health(cooldown_until=NOW + 600, cooldown_reason="billing")
    new = Health(cooldown_until=NOW + 30, cooldown_reason="rate_limit", last_used_at=NOW)
    guarded = forward_only(old, new)
    assert guarded == Health(cooldown_until=NOW + 600, cooldown_reason="billing", last_used_at=NOW)


def test_zero_clears_and_none_deletes() -> None:
    """0 clears an until (success, released probe); None deletes; both pass the guard."""
    old = Health(cooldown_until=NOW + 600, probe_owner="gw-1", probe_until=NOW + 30)
    cleared = Health()
    assert forward_only(old, cleared) == cleared
    assert forward_only(old, None) is None
    assert forward_only(None, old) == old


def test_shorter_probe_lease_keeps_the_live_owner() -> None:
    """A shorter probe lease from another owner does not displace the live one."""
    old = Health(probe_owner="gw-1", probe_until=NOW + 60)
    guarded = forward_only(old, Health(probe_owner="gw-2", probe_until=NOW + 5))
    assert guarded is not None
    assert (guarded.probe_owner, guarded.probe_until) == ("gw-1", NOW + 60)


def test_merge_takes_the_later_cooldown_and_the_larger_counters() -> None:
    """After an outage: later cooldown with its reason, max per counter, any disable."""
    remote = Health(
        cooldown_until=NOW + 100,
        cooldown_reason="rate_limit",
        failure_counts=MappingProxyType({"rate_limit": 3}),
        last_good_at=NOW - 5,
    )
    local = Health(
        cooldown_until=NOW + 900,
        cooldown_reason="billing",
        disabled=True,
        failure_counts=MappingProxyType({"rate_limit": 1, "billing": 2}),
        last_failure_at=NOW,
    )
    merged = merge_health(remote, local)
    assert (merged.cooldown_until, merged.cooldown_reason) == (NOW + 900, "billing")
    assert dict(merged.failure_counts) == {"billing": 2, "rate_limit": 3}
    assert merged.disabled
    assert (merged.last_failure_at, merged.last_good_at) == (NOW, NOW - 5)


@given(healths, healths)
def test_merge_is_commutative(a: Health, b: Health) -> None:
    """Which gateway merges first does not change the result."""
    assert merge_health(a, b) == merge_health(b, a)


@given(healths)
def test_merge_is_idempotent(a: Health) -> None:
    """Merging a value with itself changes nothing."""
    assert merge_health(a, a) == a


@given(healths, healths)
def test_merge_never_shortens_or_forgets(a: Health, b: Health) -> None:
    """The merge's untils and counters are at least those of either side."""
    merged = merge_health(a, b)
    for side in (a, b):
        assert merged.cooldown_until >= side.cooldown_until
        assert merged.probe_until >= side.probe_until
        assert all(merged.failure_counts[r] >= n for r, n in side.failure_counts.items())


@given(healths, healths)
def test_guard_never_lowers_a_nonzero_until(old: Health, new: Health) -> None:
    """forward_only's untils are 0 or at least the old ones."""
    guarded = forward_only(old, new)
    assert guarded is not None
    assert guarded.cooldown_until in (0.0, max(old.cooldown_until, new.cooldown_until))
    assert guarded.probe_until in (0.0, max(old.probe_until, new.probe_until))
