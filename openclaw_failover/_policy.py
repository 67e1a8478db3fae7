"""Cooldown policy: a failure (reason, Retry-After, history) -> the next stored ``Health``.

Pure: ``now`` is passed in. The rules are data (``CooldownRule`` in ``settings.cooldowns``);
:func:`cooldown_for` holds the one precedence rule (override > Retry-After > schedule), and
:func:`decide_cooldown` applies it with set-if-greater, so a later, shorter cooldown never
shortens an active one (design: "Cooldown rules").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from ._model import CooldownRule, FailureReason
from ._ports import EMPTY_HEALTH, Health

__all__ = [
    "CooldownDecision",
    "HealthState",
    "claim_probe",
    "cooldown_for",
    "decide_cooldown",
    "health_state",
    "record_success",
    "release_probe",
]

_NO_COUNTS: Mapping[str, int] = MappingProxyType({})

HealthState = Literal["ready", "cooling", "half_open", "probing"]


@dataclass(frozen=True, slots=True)
class CooldownDecision:
    """How long a failure cools its scope, and which input decided it."""

    duration_s: float
    source: Literal["override", "retry_after", "schedule", "none"]
    failures: int


def _current_counts(health: Health, *, now: float, failure_window_s: float) -> Mapping[str, int]:
    """The failure counters, reset when the last failure is older than the failure window."""
    if health.last_failure_at and now - health.last_failure_at > failure_window_s:
        return _NO_COUNTS
    return health.failure_counts


def cooldown_for(
    failures: int,
    *,
    rule: CooldownRule,
    retry_after_s: float | None,
    override_s: float | None = None,
) -> CooldownDecision:
    """The cooldown for the ``failures``-th consecutive failure (1-based). Precedence, once:
    an explicit override, then a longer provider Retry-After (capped), then the schedule."""
    if override_s is not None:
        return CooldownDecision(max(0.0, override_s), "override", failures)
    if rule.scope == "none" or rule.base_s <= 0:
        return CooldownDecision(0.0, "none", failures)
    schedule_s = min(rule.cap_s, _grown(rule, failures))
    if rule.honor_retry_after and retry_after_s is not None and retry_after_s > schedule_s:
        # Capped, but never below the schedule: a longer Retry-After must not shorten it (a
        # ``maxRetryAfterS`` under ``capS`` would have, from a late step on).
        capped = min(retry_after_s, rule.max_retry_after_s)
        if capped > schedule_s:
            return CooldownDecision(capped, "retry_after", failures)
    return CooldownDecision(schedule_s, "schedule", failures)


def _grown(rule: CooldownRule, failures: int) -> float:
    """``base_s * factor**(failures-1)``, uncapped; a long outage's count (1,025 failures in
    a row at factor 2) overflows a float, which is past any cap: infinity."""
    try:
        return rule.base_s * rule.factor ** max(0, failures - 1)
    except OverflowError:
        return math.inf


def decide_cooldown(
    health: Health,
    reason: FailureReason,
    *,
    rule: CooldownRule,
    retry_after_s: float | None,
    now: float,
    failure_window_s: float,
    override_s: float | None = None,
) -> Health:
    """The health after one failure: counters bumped, cooldown set-if-greater, probe released.

    The probe claim is cleared because a failure is the probe's result.
    """
    counts = dict(_current_counts(health, now=now, failure_window_s=failure_window_s))
    failures = counts.get(reason.value, 0) + 1
    counts[reason.value] = failures
    decision = cooldown_for(failures, rule=rule, retry_after_s=retry_after_s, override_s=override_s)
    until = now + decision.duration_s
    cooldown_reason: str | None
    if decision.duration_s > 0 and until > health.cooldown_until:
        cooldown_until, cooldown_reason, disabled = until, reason.value, rule.disable
    else:
        cooldown_until = health.cooldown_until
        cooldown_reason = health.cooldown_reason
        disabled = health.disabled and health.cooldown_until > now
    return replace(
        health,
        cooldown_until=cooldown_until,
        cooldown_reason=cooldown_reason,
        disabled=disabled,
        failure_counts=MappingProxyType(counts),
        last_failure_at=now,
        probe_owner=None,
        probe_until=0.0,
    )


def record_success(health: Health, now: float, *, seen_failure_at: float | None = None) -> Health:
    """The health after an answer: counters and cooldown cleared, last used/good set.

    ``seen_failure_at`` is the ``last_failure_at`` the request saw before it sent: a failure
    recorded after that (by another request) is newer evidence than this answer, so its
    cooldown and counters stay and only the last used/good times move.
    """
    if (
        seen_failure_at is not None
        and health.last_failure_at > seen_failure_at
        and health.cooldown_until > now
    ):
        return replace(health, last_used_at=now, last_good_at=now)
    return replace(
        health,
        cooldown_until=0.0,
        cooldown_reason=None,
        disabled=False,
        failure_counts=_NO_COUNTS,
        last_used_at=now,
        last_good_at=now,
        probe_owner=None,
        probe_until=0.0,
    )


def release_probe(health: Health | None, owner: str) -> Health | None:
    """``health`` without ``owner``'s probe claim (an inconclusive result); others' claims stay."""
    if health is None or health.probe_owner != owner:
        return health
    return replace(health, probe_owner=None, probe_until=0.0)


def claim_probe(
    health: Health | None, *, owner: str, now: float, lease_s: float, cooling: bool = False
) -> Health:
    """``health`` with a half-open probe claim for ``owner``, unless another live claim holds,
    or the key is cooling (again) and ``cooling`` (the probe taken because everything cools)
    was not asked for: another process's failed probe may have cooled it since the caller
    looked, and then it is not half-open any more.

    The store applies this atomically; the caller owns the probe when the stored result
    names it.
    """
    current = health or EMPTY_HEALTH
    if current.probe_owner not in (None, owner) and current.probe_until > now:
        return current
    if current.cooldown_until > now and not cooling:
        return current
    return replace(current, probe_owner=owner, probe_until=now + lease_s)


def health_state(health: Health | None, now: float) -> HealthState:
    """Where one state key stands: cooling, expired and unclaimed (half-open), probing, ready.

    An expired cooldown stays half-open until a probe's result is known (a success clears
    ``cooldown_reason``; a failure sets a new cooldown).
    """
    if health is None:
        return "ready"
    if health.cooldown_until > now:
        return "cooling"
    if health.cooldown_reason is None:
        return "ready"
    if health.probe_owner is not None and health.probe_until > now:
        return "probing"
    return "half_open"
