"""Rich tables for ``report``: per hour, per day, rates, latency, alerts and keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

from ._ops_view import _counts, _pct, _table

__all__ = ["print_hours", "print_report"]


_DAY_COLUMNS = (
    "day",
    "intents",
    "primary",
    "fallback (cloud)",
    "local",
    "hard stop",
    "fallback share",
    "local share",
    "hard-stop share",
    "manual",
)
_RATE_COLUMNS = (
    "provider",
    "model",
    "attempts",
    "429",
    "429 rate",
    "timeouts",
    "timeout rate",
    "failures",
)


def _day_row(d: Mapping[str, Any]) -> list[str]:
    counts = [str(d[k]) for k in ("intents", "primary", "fallback", "local", "hard_stop")]
    shares = [_pct(d[k]) for k in ("fallback_share", "local_share", "hard_stop_share")]
    return [d["start"], *counts, *shares, str(d["manual_interventions"])]


def _rate_row(r: Mapping[str, Any]) -> list[str]:
    return [
        escape(r["provider"]),
        escape(r["model"]),
        str(r["attempts"]),
        str(r["rate_limited"]),
        _pct(r["rate_429"]),
        str(r["timeouts"]),
        _pct(r["timeout_rate"]),
        str(r["failures"]),
    ]


def print_hours(console: Console, data: Mapping[str, Any]) -> None:
    """The per-hour table (``report --hourly``), with the session hard-stop share."""
    hours = _table("Per hour (UTC)", "hour", *_DAY_COLUMNS[1:-1], "sessions hard-stopped")
    for h in data["hours"]:
        sessions = f"{h['hard_stop_sessions']}/{h['sessions']}" if h["sessions"] else "-"
        hours.add_row(*_day_row(h)[:-1], sessions)
    console.print(hours)


def print_report(console: Console, data: Mapping[str, Any]) -> None:
    """The report tables: per day, alerts, rates, latency, keys, downgrades."""
    totals = data["totals"]
    bad = data.get("bad_lines", 0)
    lines = "line" if bad == 1 else "lines"
    skipped = f"; {bad:,} unreadable {lines} skipped (the report is partial)" if bad else ""
    console.print(
        f"{data['lines']:,} audit lines from {', '.join(data['audit_files']) or '-'}; "
        f"{totals['intents']:,} intents in the window{skipped}",
        markup=False,
    )
    days = _table("Per day (UTC)", *_DAY_COLUMNS)
    for d in [*data["days"], totals]:
        days.add_row(*_day_row(d))
    console.print(days)
    _print_alerts(console, data["alerts"], data["thresholds"])
    rates = _table("429 and timeout rates by provider x model", *_RATE_COLUMNS)
    for r in data["rates"]:
        rates.add_row(*_rate_row(r))
    console.print(rates)
    latency = _table("Latency per route (outcomes)", "route", "intents", "p50 ms", "p95 ms")
    for r in data["latency"]:
        latency.add_row(escape(r["route"]), str(r["n"]), _ms(r["p50_ms"]), _ms(r["p95_ms"]))
    console.print(latency)
    _print_keys(console, data["keys"])
    down = data["downgrades"]
    triggers = ", ".join(f"{k} {v}" for k, v in down["triggers"].items()) or "none"
    console.print(
        f"Downgrades: {down['downgraded']} (triggers: {triggers}); "
        f"manual interventions: {down['manual_interventions']}",
        markup=False,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _print_alerts(console: Console, alerts: Iterable[Mapping[str, Any]], limits: Any) -> None:
    alerts = list(alerts)
    if not alerts:
        console.print(
            f"[green]No alerts[/] (hard stop > {_pct(limits['hardStopShare'])}, "
            f"local tier > {_pct(limits['localShare'])} per hour)"
        )
        return
    table = _table("[red]Alerts[/]", "hour (UTC)", "metric", "value", "threshold", "basis")
    for a in alerts:
        cells = (escape(a["hour"]), escape(a["metric"]), escape(a["basis"]))
        table.add_row(*cells[:2], _pct(a["value"]), _pct(a["threshold"]), cells[2])
    console.print(table)


def _print_keys(console: Console, keys: Iterable[Mapping[str, Any]]) -> None:
    table = _table("Keys", "profile", "failures", "by reason", "cooldowns set", "cooldown hits")
    for k in keys:
        table.add_row(
            escape(k["profile"]),
            str(k["failures"]),
            _counts(k["by_reason"]),
            str(k["cooldowns_set"]),
            str(k["cooldown_hits"]),
        )
    console.print(table)
