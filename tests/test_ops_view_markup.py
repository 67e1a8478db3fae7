"""Text tables print values from configs, OpenClaw's state and audit lines literally: a value
that looks like rich markup neither breaks the table nor styles it."""

from __future__ import annotations

from rich.console import Console

from openclaw_failover.cli import _ops_view, _report_view

ODD = "ops[/]x[bold]y"


def _console() -> Console:
    return Console(record=True, width=200, color_system=None)


def test_key_and_probe_tables_print_markup_like_values_literally() -> None:
    console = _console()
    keys = [
        {
            "profile": ODD,
            "failures": 2,
            "by_reason": {ODD: 2},
            "cooldowns_set": 1,
            "cooldown_hits": 0,
        }
    ]
    _report_view._print_keys(console, keys)
    probe = {
        "route": ODD,
        "candidate": "p/m",
        "profile": ODD,
        "verdict": "ok",
        "status": 200,
        "latency_ms": 3.0,
        "listed": True,
        "detail": "",
    }
    _ops_view.print_probe(console, [probe])
    text = console.export_text()
    assert text.count(ODD) >= 4


def test_openclaw_cooldown_table_prints_markup_like_values_literally() -> None:
    console = _console()
    cooldown = {
        "active": True,
        "profile": ODD,
        "kind": "cooldown",
        "until": None,
        "reason": "[/]",
        "model": "[red]m",
        "error_count": 1,
    }
    openclaw = {"read": [f"/state/{ODD}"], "unreadable": [f"/state/{ODD}.db"], "state_dir": "/s"}
    _ops_view.print_openclaw(console, {**openclaw, "cooldowns": [cooldown]}, 0.0)
    text = console.export_text()
    assert text.count(ODD) == 3
    assert "[red]m" in text
