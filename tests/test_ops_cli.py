"""The operations CLI end to end (in-process): report, service, argument errors, no tracebacks."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openclaw_failover._ports import Health
from openclaw_failover._status import candidate_keys
from openclaw_failover.cli import app
from openclaw_failover.config import require_route_table
from openclaw_failover.stores.file import FileStateStore

from .test_report_analytics import T0, hour0, hour1, write
from .test_status_openclaw_state import seed_2026_9_6

INLINE_KEY = "sk-inline-DISTINCTIVE-c0ffee"


@pytest.fixture
def standalone(tmp_path: Path) -> Path:
    """A standalone config: anthropic (inline key) -> ollama, memory state, audit in tmp."""
    path = tmp_path / "failover.json5"
    path.write_text(
        "{ agents: { defaults: { model: { primary: 'anthropic/claude-opus-4-6',"
        " fallbacks: ['ollama/qwen3:8b'] } } },\n"
        f"  providers: {{ anthropic: {{ auth: [{{ key: '{INLINE_KEY}', profile: 'main' }}] }} }},\n"
        "  failover: { state: { backend: 'memory' }, alerts: { hardStopShare: 0.4 },\n"
        f"    audit: {{ path: '{tmp_path / 'audit.jsonl'}' }} }} }}\n"
    )
    shift = time.time() // 86400 * 86400 - 86400 - T0  # yesterday, so --since 7d holds it
    write(tmp_path / "audit.jsonl", [r._replace(ts=r.ts + shift) for r in hour0() + hour1()])
    return path


def invoke(args: list[str], tmp_path: Path) -> tuple[int, str]:
    """Run the CLI with an isolated HOME and OpenClaw state dir; return (exit code, all output)."""
    env = {
        "HOME": str(tmp_path / "home"),
        "OPENCLAW_STATE_DIR": str(tmp_path / "oc"),
        "OPENCLAW_CONFIG_PATH": str(tmp_path / "missing.json"),
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, args, env=env)
    output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    return result.exit_code, output


def test_report_json_uses_config_audit_path_and_thresholds(
    standalone: Path, tmp_path: Path
) -> None:
    """report reads audit.path from the config and alerts with its hardStopShare (0.4)."""
    code, out = invoke(["report", "--config", str(standalone), "--since", "7d", "--json"], tmp_path)
    assert code == 0, out
    data = json.loads(out)
    assert data["totals"]["intents"] == 14
    assert data["thresholds"]["hardStopShare"] == 0.4
    assert {a["metric"] for a in data["alerts"]} == {"hard_stop_share", "local_share"}


def test_report_table_and_plot(standalone: Path, tmp_path: Path) -> None:
    """The table names the per-day section and alerts; --plot writes a PNG and says where."""
    png = tmp_path / "plot.png"
    code, out = invoke(
        [
            "report",
            "--audit",
            str(tmp_path / "audit.jsonl"),
            "--since",
            "7d",
            "--plot",
            str(png),
        ],
        tmp_path,
    )
    assert code == 0, out
    assert "Per day" in out
    assert "Alerts" in out
    _, hourly = invoke(["report", "--audit", str(tmp_path / "audit.jsonl"), "--hourly"], tmp_path)
    assert "Per hour (UTC)" in hourly
    assert "2/4" in hourly  # hour 1: two of four sessions hit the hard stop
    assert "┃ hour" in hourly  # its first column is the hour, not "day"
    assert "┃ day" not in hourly.split("Per hour (UTC)", 1)[1].split("Per day", 1)[0]
    assert f"plot: {png}" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_report_incident_and_unknown_request(standalone: Path, tmp_path: Path) -> None:
    """--incident prints the template; an unknown id exits 1 with a clear line."""
    audit = str(tmp_path / "audit.jsonl")
    code, out = invoke(["report", "--audit", audit, "--incident", "r9"], tmp_path)
    assert code == 0
    assert "# Incident: request r9" in out
    code, out = invoke(["report", "--audit", audit, "--incident", "nope"], tmp_path)
    assert code == 1
    assert "not in the audit log" in out


def test_report_bad_since_names_the_option(tmp_path: Path) -> None:
    """A bad --since is a one-line error naming the option and the expected form."""
    code, out = invoke(
        ["report", "--audit", str(tmp_path / "a.jsonl"), "--since", "soon"], tmp_path
    )
    assert code == 2
    assert "--since: found 'soon'" in out


def test_service_install_dry_run_and_write(standalone: Path, tmp_path: Path) -> None:
    """--dry-run prints the unit; without it the unit lands in ~/.config/systemd/user."""
    code, out = invoke(
        ["service", "install", "--systemd", "--dry-run", "--config", str(standalone)], tmp_path
    )
    assert code == 0, out
    assert "ExecStart=" in out
    assert "serve --config" in out
    assert "ExecStartPre=" in out  # ollama is in the chain: wait for 127.0.0.1:11434
    assert INLINE_KEY not in out
    code, out = invoke(["service", "install", "--launchd", "--config", str(standalone)], tmp_path)
    assert code == 0, out
    plist = tmp_path / "home" / "Library" / "LaunchAgents" / "ai.openclaw-failover.proxy.plist"
    assert plist.is_file()
    assert INLINE_KEY not in plist.read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["service", "install"], "exactly one of --systemd or --launchd"),
        (["service", "wait-port", "nohost"], "expected HOST:PORT"),
        (["cooldowns", "clear", "--yes"], "expected --provider, --profile or --all"),
        (["status", "--kind", "weird"], "--kind: found 'weird'"),
        (["demo", "--duration", "0"], "--duration"),
    ],
)
def test_argument_errors_are_one_clear_line(args: list[str], expected: str, tmp_path: Path) -> None:
    """Bad arguments exit 2 with a line naming what was found and expected."""
    code, out = invoke(args, tmp_path)
    assert code == 2
    assert expected in out


def test_cooldowns_clear_through_a_file_store_is_audited(tmp_path: Path) -> None:
    """clear --provider empties the shared file store's cooldown and writes manual_intervention."""
    config = tmp_path / "failover.json5"
    audit = tmp_path / "audit.jsonl"
    config.write_text(
        json.dumps(
            {
                "agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-6"}}},
                "providers": {
                    "anthropic": {"auth": [{"key": "${ANTHROPIC_API_KEY}", "profile": "main"}]}
                },
                "failover": {
                    "state": {"backend": "file", "directory": str(tmp_path / "state")},
                    "audit": {"path": str(audit)},
                },
            }
        )
    )
    os.environ["ANTHROPIC_API_KEY"] = INLINE_KEY
    try:
        table = require_route_table(str(config), environ=os.environ)
        keys = candidate_keys(table.routes["auto"].candidates[0], table.providers["anthropic"])

        async def seed() -> None:
            store = FileStateStore(table.settings.state.directory)
            until = time.time() + 600
            await store.update(
                keys["anthropic:main"][0],
                lambda _: Health(cooldown_until=until, cooldown_reason="auth"),
            )
            await store.aclose()

        asyncio.run(seed())
        code, out = invoke(
            ["cooldowns", "clear", "--provider", "anthropic", "--yes", "--config", str(config)],
            tmp_path,
        )
    finally:
        del os.environ["ANTHROPIC_API_KEY"]
    assert code == 0, out
    assert "1 cleared" in out
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [x["event"] for x in lines] == ["manual_intervention"]
    assert INLINE_KEY not in out + audit.read_text()


def test_report_with_an_unusable_config_reads_the_default_audit(tmp_path: Path) -> None:
    """A config with errors still lets report read $OPENCLAW_STATE_DIR/failover/audit.jsonl."""
    bad = tmp_path / "failover.json5"
    bad.write_text("{ agents: { defaults: { model: { primary: 'nokey/m' } } } }")
    default = tmp_path / "oc" / "failover" / "audit.jsonl"
    default.parent.mkdir(parents=True)
    write(default, [r._replace(ts=time.time() - 60) for r in hour1()])
    code, out = invoke(["report", "--config", str(bad), "--json"], tmp_path)
    assert code == 0, out
    assert f"reading {default}" in out
    assert '"intents": 4' in out


def test_status_with_an_unusable_config_still_shows_both_states(tmp_path: Path) -> None:
    """Exit 2 with the problem, plus our cooling keys (default file store) and OpenClaw's own."""
    bad = tmp_path / "failover.json5"
    bad.write_text("{ agents: { defaults: { model: { primary: 'nokey/m' } } } }")
    seed_2026_9_6(tmp_path / "oc")

    async def seed() -> None:
        store = FileStateStore(tmp_path / "oc" / "failover")
        until = time.time() + 600
        await store.update("k-demo", lambda _: Health(cooldown_until=until, cooldown_reason="auth"))
        await store.aclose()

    asyncio.run(seed())
    code, out = invoke(["status", "--config", str(bad), "--json"], tmp_path)
    assert code == 2
    data, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])
    assert data["problems"]
    assert data["state"]["k-demo"]["reason"] == "auth"
    assert "fakeprimary:manual" in {c["profile"] for c in data["openclaw"]["cooldowns"]}
