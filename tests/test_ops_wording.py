"""Operator-facing wording: the cooldowns group's help, the local tier's "model pulled" cell,
and a bad ``serve --port`` named as such."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from openclaw_failover.cli import app
from openclaw_failover.cli._ops_view import print_status


def _status_doc(local: list[dict[str, object]]) -> dict[str, object]:
    return {
        "now": 1_800_000_000.0,
        "config_path": "/c.json",
        "kind": "standalone",
        "route_version": "rv",
        "candidates": [],
        "local": local,
        "other_state": {},
        "openclaw": {"state_dir": "/oc", "read": [], "unreadable": [], "cooldowns": []},
    }


def _rendered(local: list[dict[str, object]]) -> str:
    console = Console(record=True, width=200, highlight=False)
    print_status(console, _status_doc(local))
    return console.export_text()


def test_unreachable_local_tier_reads_unknown_not_no_connecterror() -> None:
    """An unreachable server's model is 'unknown: server unreachable (ConnectError)'."""
    item = {
        "provider": "ollama",
        "model": "qwen3:8b",
        "base_url": "http://127.0.0.1:9/",
        "reachable": False,
        "present": False,
        "detail": "ConnectError",
    }
    text = _rendered([item])
    assert "unknown: server unreachable (ConnectError)" in text
    assert "no ConnectError" not in text
    pulled = _rendered([{**item, "reachable": True, "present": True, "detail": ""}])
    assert "yes" in pulled.split("http://127.0.0.1:9/")[1]


def test_cooldowns_help_describes_what_the_group_does() -> None:
    """The group has only 'clear': its help does not promise a way to see cooldowns."""
    result = CliRunner().invoke(app, ["cooldowns", "--help"])
    assert result.exit_code == 0
    assert "See and clear" not in result.stdout
    assert "Clear this proxy's cooldowns" in result.stdout


def test_serve_rejects_an_out_of_range_port_naming_the_option(tmp_path: Path) -> None:
    """serve --port -1 exits 2 naming --port, not an OverflowError from bind()."""
    config = tmp_path / "failover.json"
    doc = {
        "agents": {"defaults": {"model": "p1/m1"}},
        "providers": {"p1": {"auth": [{"key": "k-PLAIN-0001", "profile": "main"}]}},
        "models": {
            "providers": {"p1": {"api": "openai-completions", "baseUrl": "http://127.0.0.1:9/v1"}}
        },
        "failover": {"state": {"backend": "memory"}},
    }
    config.write_text(json.dumps(doc))
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "oc")}
    for bad in ("-1", "65536"):
        result = CliRunner().invoke(app, ["serve", "--config", str(config), "--port", bad], env=env)
        output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
        assert result.exit_code == 2, output
        assert "'--port'" in output
        assert "OverflowError" not in output


def test_one_other_cooling_key_is_singular() -> None:
    """'1 other state key is cooling', not '1 other state keys are cooling'."""
    doc = _status_doc([])
    for count, said in [(1, "1 other state key is cooling"), (2, "2 other state keys are")]:
        doc["other_state"] = {f"k{i}": {"state": "cooling"} for i in range(count)}
        console = Console(record=True, width=200, highlight=False)
        print_status(console, doc)
        assert said in console.export_text()
