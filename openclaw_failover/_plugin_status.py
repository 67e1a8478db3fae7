"""Each candidate's state as the engine sees it, and the ``failover_status`` tool's answer.

Pure: it takes stored health and ``now``; it never shows a key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._model import Candidate, RouteTable, Tier
from ._ordering import model_key, plan_route, view_slot
from ._policy import health_state
from ._ports import EMPTY_HEALTH, Health

#: Candidate states in which a turn may be sent to it (a half-open one is probed by that turn).
USABLE_STATES = frozenset({"ready", "half_open"})


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One candidate with its state (ready, half_open, probing, cooling, banned) and why."""

    candidate: Candidate
    state: str
    reason: str | None = None
    until: float = 0.0

    @property
    def usable(self) -> bool:
        """Whether a turn may go to this candidate now."""
        return self.state in USABLE_STATES


def state_keys(table: RouteTable, route: str) -> list[str]:
    """Every state key the candidates of ``route`` depend on (model keys and usable keys)."""
    found = table.routes.get(route)
    if found is None:
        return []
    plan = plan_route(found, table.providers, banned=table.settings.banned_models)
    return list(dict.fromkeys([*plan.keys, *(model_key(c) for c in found.candidates)]))


def candidate_views(
    table: RouteTable, route: str, health: Mapping[str, Health], now: float
) -> list[CandidateView]:
    """Each candidate's state: the best of its key slots (the engine rotates keys), or for a
    provider whose keys only OpenClaw holds, its model key alone."""
    found = table.routes.get(route)
    if found is None:
        return []
    banned = table.settings.banned_models
    plan = plan_route(found, table.providers, banned=banned)
    out: list[CandidateView] = []
    for candidate, group in zip(found.candidates, plan.groups, strict=True):
        if candidate.ref in banned or candidate.model in banned:
            out.append(CandidateView(candidate, "banned"))
            continue
        views = [view_slot(slot, health, now) for slot in group]
        if not views:
            stored = health.get(model_key(candidate), EMPTY_HEALTH)
            state = health_state(stored, now)
            out.append(
                CandidateView(candidate, state, stored.cooldown_reason, stored.cooldown_until)
            )
            continue
        best = next((v for v in views if v.usable), min(views, key=lambda v: v.until))
        out.append(CandidateView(candidate, best.state, best.reason, best.until))
    return out


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _line(index: int, view: CandidateView, now: float) -> str:
    text = f"{index}. {view.candidate.ref} [{view.candidate.tier.value}] {view.state}"
    if view.until > now:
        text += f" until {_when(view.until)} ({view.until - now:.0f}s left"
        text += f", reason {view.reason})" if view.reason else ")"
    return text


def _summary(views: Sequence[CandidateView], high_risk: frozenset[str]) -> str:
    first = next((v.candidate for v in views if v.usable), None)
    if first is None:
        return "Every candidate is cooling; the soonest one will be probed first."
    if first.tier is Tier.LOCAL:
        return (
            f"Answering from the LOCAL tier ({first.ref}): high-risk tools are off "
            f"({', '.join(sorted(high_risk))})."
        )
    if first != views[0].candidate:
        return f"Downgraded: {first.ref} answers while {views[0].candidate.ref} is unavailable."
    return f"Primary {first.ref} is healthy."


def describe_status(
    table: RouteTable,
    *,
    route: str,
    views: Sequence[CandidateView],
    now: float,
    high_risk: frozenset[str],
) -> tuple[str, dict[str, Any]]:
    """Text and details: the chain in order with tier and state, and who answers now."""
    if not views:
        known = ", ".join(sorted(table.routes)) or "none"
        return f"Unknown route {route!r}; known routes: {known}.", {"route": route, "known": known}
    active = next((v.candidate for v in views if v.usable), None)
    lines = [
        f"openclaw-failover, route {route} (version {table.version or 'unknown'}, "
        f"mode {table.settings.mode}):",
        *(_line(i + 1, v, now) for i, v in enumerate(views)),
        _summary(views, high_risk),
        "A human can clear a stale cooldown with `openclaw failover cooldowns clear`; "
        "`openclaw failover probe` checks providers.",
    ]
    details = {
        "route": route,
        "routeVersion": table.version,
        "mode": table.settings.mode,
        "active": active.ref if active else None,
        "activeTier": active.tier.value if active else None,
        "candidates": [
            {
                "ref": v.candidate.ref,
                "tier": v.candidate.tier.value,
                "state": v.state,
                "cooldownUntil": v.until if v.until > now else None,
                "reason": v.reason,
            }
            for v in views
        ],
        "highRiskTools": sorted(high_risk),
    }
    return "\n".join(lines), details
