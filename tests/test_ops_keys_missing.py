"""status, report and cooldowns clear from a shell without the service's keys.

The proxy's service environment holds ANTHROPIC_API_KEY; the on-call shell does not. Before,
status refused ("invalid configuration", exit 2), report read the default audit file instead
of the config's audit.path, and cooldowns clear --all refused. validate, doctor and probe
still treat the missing key as an error.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from openclaw_failover._ports import Health
from openclaw_failover._status import candidate_keys
from openclaw_failover.cli import _ops_view, app
from openclaw_failover.config import load_route_table, require_route_table
from openclaw_failover.stores.file import FileStateStore

from .test_report_analytics import hour1, write

OPENAI_KEY = "sk-openai-SHELL-7f3a9c"
ANTHROPIC_KEY = "sk-ant-SERVICE-ONLY-4be1"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """openai (key in this shell) -> anthropic (key only in the service), file state, audit."""
    doc = {
        "agents": {
            "defaults": {
                "model": {
                    "primary": "openai/gpt-5.4-mini",
                    "fallbacks": ["anthropic/claude-opus-4-6"],
                }
            }
        },
        "providers": {
            "openai": {"auth": [{"key": "${OPENAI_API_KEY}"}]},
            "anthropic": {"auth": [{"key": "${ANTHROPIC_API_KEY}"}]},
        },
        "failover": {
            "state": {"backend": "file", "directory": str(tmp_path / "state")},
            "audit": {"path": str(tmp_path / "my-audit.jsonl")},
            "proxy": {"port": _closed_port()},
        },
    }
    path = tmp_path / "failover.json"
    path.write_text(json.dumps(doc))
    return path


def _env(tmp_path: Path) -> dict[str, str | None]:
    return {
        "HOME": str(tmp_path / "home"),
        "OPENCLAW_STATE_DIR": str(tmp_path / "oc"),
        "OPENCLAW_CONFIG_PATH": str(tmp_path / "missing.json"),
        "OPENAI_API_KEY": OPENAI_KEY,
        "ANTHROPIC_API_KEY": None,
        "COLUMNS": "250",
    }


def _invoke(args: list[str], tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env=_env(tmp_path))
    output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, output
    assert OPENAI_KEY not in output
    assert ANTHROPIC_KEY not in output
    return result.exit_code, output


def _seed_as_the_service(config: Path, tmp_path: Path) -> None:
    """Cool anthropic's model and its key as the service (which has the key) would."""
    env = {k: v for k, v in _env(tmp_path).items() if v is not None}
    table = require_route_table(str(config), environ={**env, "ANTHROPIC_API_KEY": ANTHROPIC_KEY})
    opus = table.routes["auto"].candidates[1]
    keys = candidate_keys(opus, table.providers["anthropic"])
    until = time.time() + 600

    async def seed() -> None:
        store = FileStateStore(table.settings.state.directory)
        await store.update(
            keys[""][0], lambda _: Health(cooldown_until=until, cooldown_reason="overloaded")
        )
        await store.update(
            keys["anthropic:0"][0], lambda _: Health(cooldown_until=until, cooldown_reason="auth")
        )
        await store.aclose()

    asyncio.run(seed())


def test_the_loader_downgrades_environmental_errors_only_when_asked(
    config: Path, tmp_path: Path
) -> None:
    """environmental_ok gives the table with auth.no-usable-key as a warning; by default none."""
    env = {k: v for k, v in _env(tmp_path).items() if v is not None}
    plain = load_route_table(str(config), environ=env)
    assert plain.table is None
    assert [p.rule for p in plain.errors] == ["auth.no-usable-key"]
    ops = load_route_table(str(config), environ=env, environmental_ok=True)
    assert ops.table is not None
    assert not ops.errors
    assert "auth.no-usable-key" in {p.rule for p in ops.warnings}


def test_another_error_beside_a_missing_key_still_gives_no_table(tmp_path: Path) -> None:
    """Only a config whose every error is environmental is downgraded."""
    bad = tmp_path / "bad.json"
    doc = {
        "agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-6"}}},
        "providers": {"anthropic": {"auth": [{"key": "${ANTHROPIC_API_KEY}"}]}},
        "failover": {"state": {"backend": "nonsense"}},
    }
    bad.write_text(json.dumps(doc))
    env = {k: v for k, v in _env(tmp_path).items() if v is not None}
    assert load_route_table(str(bad), environ=env, environmental_ok=True).table is None


def test_status_shows_the_state_and_says_which_keys_this_shell_lacks(
    config: Path, tmp_path: Path
) -> None:
    """Exit 0; anthropic's key is unknown (not healthy), its model cooling, a note per key."""
    _seed_as_the_service(config, tmp_path)
    code, out = _invoke(["status", "--config", str(config)], tmp_path)
    assert code == 0, out
    assert "invalid configuration" not in out
    note = "not set in this shell: ANTHROPIC_API_KEY (the service's environment may have it)"
    assert note in out
    row = next(line for line in out.splitlines() if "anthropic:0" in line)
    assert "unknown" in row, row
    assert "key not set in this" in row, row  # the cell wraps at 160 columns
    assert "healthy" not in row, row
    model = next(x for x in out.splitlines() if "anthropic/claude" in x and "(model)" in x)
    assert "cooling" in model, model


def test_status_json_marks_the_missing_key_unknown(config: Path, tmp_path: Path) -> None:
    """The JSON names the variables; the key row is unknown with its note; model state read."""
    _seed_as_the_service(config, tmp_path)
    code, out = _invoke(["status", "--config", str(config), "--json"], tmp_path)
    assert code == 0, out
    data = json.loads(out)
    assert data["keys_not_in_shell"] == ["ANTHROPIC_API_KEY"]
    opus = next(c for c in data["candidates"] if c["candidate"] == "anthropic/claude-opus-4-6")
    assert opus["state"]["state"] == "cooling"
    (key,) = opus["keys"]
    assert key["state"] == "unknown"
    assert key["note"] == "key not set in this shell (ANTHROPIC_API_KEY)"
    mini = next(c for c in data["candidates"] if c["candidate"] == "openai/gpt-5.4-mini")
    assert [k["state"] for k in mini["keys"]] == ["healthy"]
    assert mini["keys"][0]["note"] == ""


def test_report_reads_the_configs_audit_path(config: Path, tmp_path: Path) -> None:
    """Not the default audit file, and no note saying the config is unusable."""
    write(tmp_path / "my-audit.jsonl", [r._replace(ts=time.time() - 60) for r in hour1()])
    code, out = _invoke(["report", "--config", str(config), "--json"], tmp_path)
    assert code == 0, out
    assert "default audit file" not in out
    assert '"intents": 4' in out


def test_clear_all_works_without_the_key(config: Path, tmp_path: Path) -> None:
    """--all clears the model and the key state the service wrote, and audits to audit.path."""
    _seed_as_the_service(config, tmp_path)
    code, out = _invoke(["cooldowns", "clear", "--all", "--yes", "--config", str(config)], tmp_path)
    assert code == 0, out
    assert "2 cleared" in out
    audit = (tmp_path / "my-audit.jsonl").read_text()
    assert audit.count("manual_intervention") == 2


@pytest.mark.parametrize("selection", [["--provider", "anthropic"], ["--profile", "anthropic:0"]])
def test_clear_of_a_provider_without_its_key_names_the_variable(
    selection: list[str], config: Path, tmp_path: Path
) -> None:
    """Its state keys cannot be computed: exit 2 naming ANTHROPIC_API_KEY, nothing cleared."""
    _seed_as_the_service(config, tmp_path)
    args = ["cooldowns", "clear", *selection, "--yes", "--config", str(config)]
    code, out = _invoke(args, tmp_path)
    assert code == 2, out
    assert f"{selection[0]}: the key state of {selection[1]!r} cannot be found" in out
    assert "ANTHROPIC_API_KEY not set in this shell" in out
    assert "invalid configuration" not in out


def test_clear_of_a_provider_with_its_key_still_works(config: Path, tmp_path: Path) -> None:
    """openai's key is in this shell: clearing it goes ahead."""
    args = ["cooldowns", "clear", "--provider", "openai", "--yes", "--config", str(config)]
    code, out = _invoke(args, tmp_path)
    assert code == 0, out
    assert "0 cleared" in out


@pytest.mark.parametrize("command", [["validate"], ["doctor"], ["probe"]])
def test_validate_doctor_and_probe_still_call_it_an_error(
    command: list[str], config: Path, tmp_path: Path
) -> None:
    """The serving-side commands are unchanged: the missing key is an error (exit 2)."""
    code, out = _invoke([*command, "--config", str(config)], tmp_path)
    assert code == 2, out
    assert "auth.no-usable-key" in out or "no usable key" in out


def test_a_version_mismatch_is_put_down_to_the_missing_keys() -> None:
    """The version counts which keys are set: without them here it differs from the proxy's,
    which is not a sign that the proxy has not reloaded or reads another file."""
    proxy = {
        "url": "http://127.0.0.1:1/readyz",
        "reachable": True,
        "ready": True,
        "route_version": {"loaded": "v-service", "on_disk": "v-service"},
        "detail": "",
    }
    console = Console(record=True, width=300, color_system=None)
    _ops_view._print_proxy(console, proxy, "v-shell", shell=True)
    text = console.export_text()
    assert "this shell lacks keys the service may have" in text
    assert "has not reloaded" not in text


@pytest.fixture
def two_keys(tmp_path: Path, config: Path) -> Path:
    """openai with two keys: OPENAI_API_KEY in this shell, OPENAI_KEY_2 only in the service."""
    doc = json.loads(config.read_text())
    doc["providers"]["openai"]["auth"].append({"key": "${OPENAI_KEY_2}", "profile": "spare"})
    doc["providers"]["anthropic"]["auth"] = [{"key": "sk-ant-inline-0123456789"}]
    config.write_text(json.dumps(doc))
    return config


def test_status_marks_one_unset_key_of_a_provider_unknown(two_keys: Path, tmp_path: Path) -> None:
    """The provider has a key here, so the config loads cleanly; the other key is still
    "unknown: key not set in this shell", not "no key" (the service may hold it)."""
    code, out = _invoke(["status", "--config", str(two_keys), "--json"], tmp_path)
    assert code == 0, out
    data = json.loads(out)
    assert data["keys_not_in_shell"] == ["OPENAI_KEY_2"]
    mini = next(c for c in data["candidates"] if c["candidate"] == "openai/gpt-5.4-mini")
    states = {k["profile"]: (k["state"], k["note"]) for k in mini["keys"]}
    assert states["openai:spare"] == ("unknown", "key not set in this shell (OPENAI_KEY_2)")
    assert states["openai:0"] == ("healthy", "")


def test_clear_of_a_provider_with_one_key_unset_names_what_it_left(
    two_keys: Path, tmp_path: Path
) -> None:
    """The keys set here are cleared; a note names the variable and the profile whose state
    could not be selected, so "0 cleared" does not read as everything cleared."""
    args = ["cooldowns", "clear", "--provider", "openai", "--yes", "--config", str(two_keys)]
    code, out = _invoke(args, tmp_path)
    assert code == 0, out
    assert "cleared of" in out
    assert "note: OPENAI_KEY_2 not set in this shell, so the state of openai:spare was not" in out
    assert "sk-ant-inline" not in out
