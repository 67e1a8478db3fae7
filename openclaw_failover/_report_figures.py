"""The report's figures derived after the pass: alerts over hourly shares, 429 and timeout
rates per provider x model, and latency percentiles per route."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._report_buckets import share

__all__ = ["alerts_json", "latency_json", "percentile", "rates_json"]


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of ``values`` (sorted in place); None when empty."""
    if not values:
        return None
    values.sort()
    rank = max(1, math.ceil(pct / 100.0 * len(values)))
    return values[rank - 1]


def alerts_json(
    hours: list[dict[str, Any]], *, hard_stop: float, local: float
) -> list[dict[str, Any]]:
    """An alert per hour whose hard-stop share (of sessions where the hour has any, else of
    intents) or local-tier share passes its threshold."""
    alerts: list[dict[str, Any]] = []
    for hour in hours:
        basis = "sessions" if hour["sessions"] else "intents"
        value = hour["session_hard_stop_share"] if hour["sessions"] else hour["hard_stop_share"]
        if value > hard_stop:
            alerts.append(
                {
                    "metric": "hard_stop_share",
                    "hour": hour["start"],
                    "value": value,
                    "threshold": hard_stop,
                    "basis": basis,
                }
            )
        if hour["local_share"] > local:
            alerts.append(
                {
                    "metric": "local_share",
                    "hour": hour["start"],
                    "value": hour["local_share"],
                    "threshold": local,
                    "basis": "intents",
                }
            )
    return alerts


def rates_json(rates: Mapping[tuple[str, str], list[int]]) -> list[dict[str, Any]]:
    """429 and timeout rates per provider x model, over attempt lines."""
    return [
        {
            "provider": p,
            "model": m,
            "attempts": c[0],
            "rate_limited": c[1],
            "timeouts": c[2],
            "failures": c[3],
            "rate_429": share(c[1], c[0]),
            "timeout_rate": share(c[2], c[0]),
        }
        for (p, m), c in sorted(rates.items())
    ]


def latency_json(latency: Mapping[str, list[float]]) -> list[dict[str, Any]]:
    """Nearest-rank p50/p95 of outcome latency per route."""
    return [
        {
            "route": route,
            "n": len(vals),
            "p50_ms": percentile(vals, 50),
            "p95_ms": percentile(vals, 95),
        }
        for route, vals in sorted(latency.items())
    ]
