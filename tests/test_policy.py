"""Cooldown policy: schedule, caps, Retry-After precedence, never-shorten, resets, probes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openclaw_failover._model import DEFAULT_COOLDOWNS, CooldownRule, FailureReason
from openclaw_failover._policy import (
    claim_probe,
    cooldown_for,
    decide_cooldown,
    health_state,
    record_success,
    release_probe,
)
from openclaw_failover._ports import EMPTY_HEALTH, Health

NOW = 1_800_000_000.0
DAY = 86400.0
R = FailureReason


def _fail(health: Health, reason: R, *, now: float = NOW, retry_after: float | None = None):
    return decide_cooldown(
        health,
        reason,
        rule=DEFAULT_COOLDOWNS[reason],
        retry_after_s=retry_after,
        now=now,
        failure_window_s=DAY,
    )


def _durations(reason: R, n: int) -> list[float]:
    rule = DEFAULT_COOLDOWNS[reason]
    return [cooldown_for(i, rule=rule, retry_after_s=None).duration_s for i in range(1, n + 1)]


def test_rate_limit_schedule_doubles_to_ten_minutes() -> None:
    """rate_limit: 30 s doubling, capped at 10 min (design table)."""
    assert _durations(R.RATE_LIMIT, 7) == [30, 60, 120, 240, 480, 600, 600]


def test_transient_schedule_doubles_to_thirty_seconds() -> None:
    """server_error/overloaded/timeout/empty/unknown: 5 s doubling, cap 30 s."""
    for reason in (R.SERVER_ERROR, R.OVERLOADED, R.TIMEOUT, R.EMPTY_RESPONSE, R.UNKNOWN):
        assert _durations(reason, 5) == [5, 10, 20, 30, 30]


def test_a_long_outage_stays_at_the_cap() -> None:
    """The 1,025th failure in a row (about 9 h of 30 s probes) still cools at the cap:
    ``2.0 ** 1024`` overflows a float, so the schedule must not raise past its cap."""
    for reason, cap in ((R.SERVER_ERROR, 30), (R.RATE_LIMIT, 600), (R.BILLING, 86400)):
        rule = DEFAULT_COOLDOWNS[reason]
        for failures in (1025, 5000, 10**9):
            assert cooldown_for(failures, rule=rule, retry_after_s=None).duration_s == cap
    health = EMPTY_HEALTH
    for i in range(1100):
        health = _fail(health, R.SERVER_ERROR, now=NOW + 31.0 * i)
    assert health.failure_counts["server_error"] == 1100
    assert health.cooldown_until == NOW + 31.0 * 1099 + 30


def test_key_reasons_and_caps() -> None:
    """auth 5 min to 1 h; auth_permanent 1 h to 24 h; billing 10 min to 24 h (disabled)."""
    assert _durations(R.AUTH, 6) == [300, 600, 1200, 2400, 3600, 3600]
    assert _durations(R.AUTH_PERMANENT, 7)[0] == 3600
    assert _durations(R.AUTH_PERMANENT, 7)[-1] == 86400
    assert _durations(R.BILLING, 10)[-1] == 86400
    assert DEFAULT_COOLDOWNS[R.BILLING].disable
    assert DEFAULT_COOLDOWNS[R.AUTH_PERMANENT].disable


def test_no_cooldown_for_request_reasons() -> None:
    """model_not_found, format and context_overflow never cool anything."""
    for reason in (R.MODEL_NOT_FOUND, R.FORMAT, R.CONTEXT_OVERFLOW):
        health = _fail(EMPTY_HEALTH, reason)
        assert health.cooldown_until == 0.0
        assert health_state(health, NOW) == "ready"


def test_longer_retry_after_wins_capped_at_an_hour() -> None:
    """A Retry-After longer than the schedule wins, capped at 1 h; a shorter one does not."""
    rule = DEFAULT_COOLDOWNS[R.RATE_LIMIT]
    assert cooldown_for(1, rule=rule, retry_after_s=120).duration_s == 120
    assert cooldown_for(1, rule=rule, retry_after_s=120).source == "retry_after"
    assert cooldown_for(1, rule=rule, retry_after_s=10).duration_s == 30
    assert cooldown_for(1, rule=rule, retry_after_s=99999).duration_s == 3600


def test_override_beats_retry_after_and_schedule() -> None:
    """Precedence: override > Retry-After > schedule."""
    rule = DEFAULT_COOLDOWNS[R.RATE_LIMIT]
    decision = cooldown_for(1, rule=rule, retry_after_s=500, override_s=7)
    assert (decision.duration_s, decision.source) == (7, "override")


def test_retry_after_ignored_where_the_rule_does_not_honour_it() -> None:
    """Only rules with ``honor_retry_after`` take the provider's delay."""
    rule = DEFAULT_COOLDOWNS[R.SERVER_ERROR]
    assert cooldown_for(1, rule=rule, retry_after_s=500).duration_s == 5


def test_shorter_cooldown_never_shortens_an_active_one() -> None:
    """Set-if-greater: a later 5 s cooldown leaves a 10 min one in place."""
    long = _fail(EMPTY_HEALTH, R.RATE_LIMIT, retry_after=600)
    assert long.cooldown_until == NOW + 600
    after = _fail(long, R.SERVER_ERROR, now=NOW + 1)
    assert after.cooldown_until == NOW + 600
    assert after.cooldown_reason == "rate_limit"


def test_counters_reset_after_success() -> None:
    """A success clears counters, cooldown and probe claim, and stamps last used/good."""
    health = _fail(_fail(EMPTY_HEALTH, R.SERVER_ERROR), R.SERVER_ERROR, now=NOW + 6)
    assert health.failure_counts["server_error"] == 2
    ok = record_success(health, NOW + 60)
    assert dict(ok.failure_counts) == {}
    assert ok.cooldown_until == 0.0
    assert ok.last_good_at == ok.last_used_at == NOW + 60
    assert _fail(ok, R.SERVER_ERROR, now=NOW + 61).cooldown_until == NOW + 61 + 5


def test_success_keeps_a_failure_newer_than_what_its_request_saw() -> None:
    """A success clears only failures its request had seen; a newer one keeps its cooldown."""
    seen = _fail(EMPTY_HEALTH, R.SERVER_ERROR, now=NOW)
    newer = _fail(seen, R.SERVER_ERROR, now=NOW + 2)
    kept = record_success(newer, NOW + 3, seen_failure_at=seen.last_failure_at)
    assert kept.cooldown_until == newer.cooldown_until
    assert kept.failure_counts == newer.failure_counts
    assert kept.last_good_at == NOW + 3
    cleared = record_success(newer, NOW + 3, seen_failure_at=newer.last_failure_at)
    assert cleared.cooldown_until == 0.0


def test_counters_reset_after_a_failure_free_window() -> None:
    """After 24 h without failures the schedule starts again from its base."""
    health = EMPTY_HEALTH
    for i in range(4):
        health = _fail(health, R.TIMEOUT, now=NOW + i * 100)
    assert health.failure_counts["timeout"] == 4
    later = NOW + 300 + DAY + 1
    fresh = _fail(health, R.TIMEOUT, now=later)
    assert fresh.failure_counts["timeout"] == 1
    assert fresh.cooldown_until == later + 5


def test_failure_releases_the_probe_claim() -> None:
    """A failure is a probe's result: the claim goes, the new cooldown stays."""
    claimed = claim_probe(EMPTY_HEALTH, owner="r1", now=NOW, lease_s=30)
    failed = _fail(claimed, R.SERVER_ERROR)
    assert failed.probe_owner is None
    assert health_state(failed, NOW) == "cooling"


def test_a_cooling_key_is_claimed_only_for_the_all_cooling_probe() -> None:
    """A key that cooled again since the caller saw it half-open takes no half-open claim
    (another process's probe failed meanwhile); the all-cooling probe may claim it."""
    cooling = Health(cooldown_until=NOW + 10, cooldown_reason="server_error")
    assert claim_probe(cooling, owner="a", now=NOW, lease_s=30) is cooling
    assert claim_probe(cooling, owner="a", now=NOW, lease_s=30, cooling=True).probe_owner == "a"


def test_probe_claim_is_exclusive_until_its_lease_ends() -> None:
    """A live claim holds; an expired lease can be taken over; release is owner-only."""
    expired = Health(cooldown_until=NOW - 1, cooldown_reason="server_error")
    assert health_state(expired, NOW) == "half_open"
    first = claim_probe(expired, owner="a", now=NOW, lease_s=30)
    assert claim_probe(first, owner="b", now=NOW + 1, lease_s=30).probe_owner == "a"
    assert health_state(first, NOW + 1) == "probing"
    assert claim_probe(first, owner="b", now=NOW + 31, lease_s=30).probe_owner == "b"
    assert release_probe(first, "b") is first
    released = release_probe(first, "a")
    assert released is not None
    assert released.probe_owner is None


def test_disable_flag_follows_the_rule() -> None:
    """Billing marks the key disabled; the flag drops once its window is over."""
    billed = _fail(EMPTY_HEALTH, R.BILLING)
    assert billed.disabled
    later = _fail(billed, R.SERVER_ERROR, now=NOW + 700)
    assert not later.disabled


reasons = st.sampled_from(list(FailureReason))
rules = st.builds(
    CooldownRule,
    base_s=st.floats(0.1, 1000),
    cap_s=st.floats(0.1, 100000),
    scope=st.sampled_from(["key", "key_model", "model"]),
    factor=st.floats(1.0, 4.0),
    honor_retry_after=st.booleans(),
)


@given(rule=rules, n=st.integers(1, 40), retry_after=st.none() | st.floats(0, 10000))
def test_cooldown_never_shrinks_as_failures_grow(
    rule: CooldownRule, n: int, retry_after: float | None
) -> None:
    """Property: the n+1-th failure cools at least as long as the n-th."""
    first = cooldown_for(n, rule=rule, retry_after_s=retry_after).duration_s
    second = cooldown_for(n + 1, rule=rule, retry_after_s=retry_after).duration_s
    assert second >= first


@given(
    steps=st.lists(
        st.tuples(reasons, st.floats(0, 1000), st.none() | st.floats(0, 5000)), max_size=20
    )
)
def test_cooldown_until_only_moves_forward(steps: list[tuple[R, float, float | None]]) -> None:
    """Property: no sequence of failures ever moves ``cooldown_until`` backwards."""
    health, now = EMPTY_HEALTH, NOW
    for reason, gap, retry_after in steps:
        now += gap
        after = _fail(health, reason, now=now, retry_after=retry_after)
        assert after.cooldown_until >= health.cooldown_until
        health = after


@given(steps=st.lists(reasons, min_size=1, max_size=10))
def test_success_clears_the_counters(steps: list[R]) -> None:
    """Property: after any failures, a success leaves no counter and no cooldown."""
    health = EMPTY_HEALTH
    for i, reason in enumerate(steps):
        health = _fail(health, reason, now=NOW + i)
    ok = record_success(health, NOW + 100)
    assert dict(ok.failure_counts) == {}
    assert health_state(ok, NOW + 100) == "ready"
