"""Rich tables for the operations commands; each takes the command's JSON document.

``report``'s tables are in :mod:`._report_view`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = [
    "print_doctor",
    "print_openclaw",
    "print_probe",
    "print_status",
]

_STATE_STYLE = {
    "healthy": "green",
    "cooling": "yellow",
    "probing": "cyan",
    "disabled": "red",
    "no key": "red",
    "unknown": "yellow",
}
_LEVEL_STYLE = {"ok": "green", "warn": "yellow", "error": "red"}


def _at(epoch: float | None, now: float | None = None) -> str:
    """A time with its zone (UTC), and how far ahead it is when ``now`` is given."""
    if not epoch:
        return "-"
    text = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if now is not None and epoch > now:
        text += f" (in {_span(epoch - now)})"
    return text


def _span(seconds: float) -> str:
    """A wait as an operator reads it: ``45 s``, ``4 min 5 s``, ``23 h 59 min``."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _state(state: str) -> str:
    return f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column)
    return table


_CANDIDATE_COLUMNS = (
    "route",
    "candidate",
    "tier",
    "key (profile)",
    "source",
    "state",
    "until",
    "reason",
    "failures",
    "last good",
)


def _state_cells(row: Mapping[str, Any], now: float) -> list[str]:
    return [
        _state(row["state"]),
        _at(row["until"], now),
        escape(row["reason"] or row.get("note") or ""),
        _counts(row["failure_counts"]),
        _at(row["last_good_at"]),
    ]


def print_status(console: Console, data: Mapping[str, Any]) -> None:
    """The route table with states, the local tier, and OpenClaw's own cooldowns."""
    now = float(data["now"])
    console.print(
        f"config [bold]{escape(str(data['config_path']))}[/] ({data['kind']}), "
        f"route version [bold]{data['route_version']}[/]"
    )
    _print_store_notes(console, data)
    shell = data.get("keys_not_in_shell") or []
    _print_proxy(console, data.get("proxy"), str(data["route_version"]), shell=bool(shell))
    if shell:
        them = "it" if len(shell) == 1 else "them"
        console.print(
            f"[yellow]not set in this shell: {escape(', '.join(shell))} (the service's "
            f"environment may have {them}); those keys' states are unknown here[/]"
        )
    table = _table("Candidates and keys", *_CANDIDATE_COLUMNS)
    for cand in data["candidates"]:
        table.add_row(
            escape(cand["route"]),
            escape(cand["candidate"]),
            escape(cand["tier"]),
            "(model)",
            "",
            *_state_cells(cand["state"], now),
        )
        for key in cand["keys"]:
            profile, source = escape(key["profile"]), escape(key["source"])
            table.add_row("", "", "", profile, source, *_state_cells(key, now))
    console.print(table)
    _print_local(console, data["local"])
    others = [k for k, v in data["other_state"].items() if v["state"] != "healthy"]
    if others:
        console.print(
            f"{len(others)} other state {'key is' if len(others) == 1 else 'keys are'} cooling"
            " outside the routes "
            "(status --json lists them; cooldowns clear --all clears them)"
        )
    print_openclaw(console, data["openclaw"], now)


def _print_store_notes(console: Console, data: Mapping[str, Any]) -> None:
    """One line each: the store could not be read, fell back to local state, or skipped
    damaged records of its journal."""
    if data.get("store_error"):
        console.print(
            f"[red]state store unreadable ({escape(str(data['store_error']))}): the states "
            "below are unknown; openclaw-failover doctor says how to fix it[/]"
        )
    if data.get("store_degraded"):
        console.print(
            f"[yellow]state store degraded, showing this process's local state only "
            f"(unknown when it holds none): {escape(str(data['store_degraded']))}; "
            "openclaw-failover doctor says how to fix it[/]"
        )
    damaged = data.get("store_damaged_records") or 0
    if damaged:
        records = "record" if damaged == 1 else "records"
        console.print(
            f"[yellow]state journal: {damaged} damaged {records} skipped (checksum failed; "
            "whatever state they held is not shown); openclaw-failover doctor says what to do[/]"
        )


def _print_proxy(
    console: Console, proxy: Mapping[str, Any] | None, file_version: str, *, shell: bool = False
) -> None:
    """One line: is the proxy ready, and which route version does it serve?"""
    if not proxy:
        return
    url = escape(str(proxy["url"]))
    if not proxy["reachable"] or proxy["ready"] is None:
        console.print(f"proxy {url}: {escape(str(proxy['detail']))}")
        return
    versions = proxy["route_version"]
    loaded, on_disk = versions["loaded"], versions["on_disk"]
    verdict = "[green]ready[/]" if proxy["ready"] else "[red]not ready[/]"
    console.print(
        f"proxy {url}: {verdict}, serving route version [bold]{escape(str(loaded))}[/] "
        f"(its file on disk: {escape(str(on_disk))})"
    )
    if loaded != file_version:
        why = "it has not reloaded it, or it reads another file"
        if shell:
            why = "this shell lacks keys the service may have; compare its file on disk"
        console.print(
            f"[yellow]the proxy serves route version {escape(str(loaded))}, this config is "
            f"{escape(file_version)}: {why}[/]"
        )


def _print_local(console: Console, local: list[Mapping[str, Any]]) -> None:
    if not local:
        return
    table = _table("Local tier", "provider", "model", "base URL", "reachable", "model pulled")
    for item in local:
        table.add_row(
            item["provider"],
            item["model"],
            item["base_url"],
            _yes(item["reachable"]),
            _pulled(item),
        )
    console.print(table)


def _pulled(item: Mapping[str, Any]) -> str:
    """The "model pulled" cell: unknown when the server did not answer (its detail is then the
    failure, e.g. ConnectError, which read as "no ConnectError" next to a plain no)."""
    detail = escape(str(item["detail"]))
    if not item["reachable"]:
        return f"[yellow]unknown[/]: server unreachable ({detail})" if detail else "unknown"
    return _yes(item["present"]) + (f": {detail}" if detail else "")


def print_openclaw(console: Console, openclaw: Mapping[str, Any], now: float) -> None:
    """OpenClaw's own active cooldowns and where they were read from."""
    unreadable = openclaw["unreadable"]
    nothing = "nothing readable" if unreadable else "nothing found"
    read = ", ".join(openclaw["read"]) or f"{nothing} under {openclaw['state_dir']}"
    console.print(f"OpenClaw's own cooldowns (read-only), read from: {read}", markup=False)
    for bad in unreadable:
        console.print(f"[yellow]could not read {escape(str(bad))}[/]")
    active = [c for c in openclaw["cooldowns"] if c["active"]]
    if not active:  # a file that could not be read may hold cooldowns: never "none" for it
        if not unreadable:
            console.print("  none active")
        elif openclaw["read"]:
            console.print(
                f"  none active in the files read; unknown in the {len(unreadable)} above"
            )
        else:
            console.print("  [yellow]unknown[/]: no OpenClaw state file could be read")
        return
    table = _table("OpenClaw cooldowns", "profile", "kind", "until", "reason", "model", "errors")
    for c in active:
        table.add_row(
            escape(c["profile"]),
            _state("disabled" if c["kind"] != "cooldown" else "cooling"),
            _at(c["until"], now),
            escape(c["reason"] or ""),
            escape(c["model"] or ""),
            str(c["error_count"]),
        )
    console.print(table)


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def _counts(counts: Mapping[str, int]) -> str:
    return escape(", ".join(f"{k} {v}" for k, v in counts.items() if v))


def print_probe(console: Console, results: Iterable[Mapping[str, Any]]) -> None:
    """One row per probe."""
    table = _table(
        "Probes",
        "route",
        "candidate",
        "key (profile)",
        "result",
        "status",
        "latency ms",
        "model listed",
        "detail",
    )
    for r in results:
        style = "green" if r["verdict"] == "ok" else "red"
        listed = "?" if r["listed"] is None else ("yes" if r["listed"] else "[red]no[/]")
        table.add_row(
            escape(r["route"]),
            escape(r["candidate"]),
            escape(r["profile"]),
            f"[{style}]{escape(r['verdict'])}[/]",
            str(r["status"] or "-"),
            f"{r['latency_ms']:.0f}",
            listed,
            escape(r["detail"]),
        )
    console.print(table)


def print_doctor(console: Console, findings: Iterable[Mapping[str, str]]) -> None:
    """One row per finding, with its fix."""
    table = _table("Doctor", "check", "level", "finding", "fix")
    for f in findings:
        table.add_row(
            f["check"],
            f"[{_LEVEL_STYLE[f['level']]}]{f['level']}[/]",
            escape(f["message"]),
            escape(f["fix"]),
        )
    console.print(table)
