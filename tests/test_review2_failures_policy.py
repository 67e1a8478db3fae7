"""Review 2 of the failure handling: a longer Retry-After, once capped by ``maxRetryAfterS``,
never makes a rate-limit cooldown shorter than the progressive schedule."""

from __future__ import annotations

from openclaw_failover._model import CooldownRule
from openclaw_failover._policy import cooldown_for

RULE = CooldownRule(
    base_s=30, cap_s=600, scope="key_model", honor_retry_after=True, max_retry_after_s=300
)


def test_capped_retry_after_never_shortens_the_schedule() -> None:
    """maxRetryAfterS under capS: at the 5th failure the schedule is 480 s; a Retry-After of
    500 s, capped to 300 s, gave 300 s (a longer Retry-After shortening the cooldown)."""
    decision = cooldown_for(5, rule=RULE, retry_after_s=500.0)
    assert (decision.duration_s, decision.source) == (480.0, "schedule")


def test_longer_retry_after_still_wins_below_the_cap() -> None:
    """A guard: where the capped Retry-After is longer than the schedule, it is the cooldown."""
    assert cooldown_for(2, rule=RULE, retry_after_s=200.0).duration_s == 200.0
    assert cooldown_for(2, rule=RULE, retry_after_s=900.0).duration_s == 300.0
    assert cooldown_for(2, rule=RULE, retry_after_s=900.0).source == "retry_after"
