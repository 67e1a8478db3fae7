"""The operations CLI as an on-call operator uses it: times carry their zone, an unread state
store never shows as "healthy", a prompt with no answer and Ctrl-C each end in one clear line,
and a busy port says what to do."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openclaw_failover import _service, cli
from openclaw_failover._ports import Health
from openclaw_failover._status import candidate_keys
from openclaw_failover.cli import app
from openclaw_failover.config import require_route_table
from openclaw_failover.stores.file import FileStateStore
from tests.fixtures.redis_server import free_port

KEY = "sk-review2-cli-SECRET-0123456789"
REDIS_PASSWORD = "pw-review2-SECRET"


def _config(tmp_path: Path, state: dict[str, Any], *, port: int | None = None) -> Path:
    """A standalone config: p1/m1 (key from the environment); nothing listens upstream."""
    path = tmp_path / "failover.json"
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
        "providers": {"p1": {"auth": [{"key": "${P1_KEY}", "profile": "main"}]}},
        "models": {
            "providers": {
                "p1": {"api": "openai-completions", "baseUrl": f"http://127.0.0.1:{free_port()}"}
            }
        },
        "failover": {
            "state": state,
            "proxy": {"port": port or free_port()},
            "audit": {"path": str(tmp_path / "audit.jsonl")},
        },
    }
    path.write_text(json.dumps(doc))
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "HOME": str(tmp_path / "home"),
        "OPENCLAW_STATE_DIR": str(tmp_path / "oc"),
        "OPENCLAW_CONFIG_PATH": str(tmp_path / "missing.json"),
        "P1_KEY": KEY,
        "COLUMNS": "220",
    }


def _invoke(args: list[str], tmp_path: Path, *, stdin: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); no traceback and no secret in either stream."""
    result = CliRunner().invoke(app, args, env=_env(tmp_path), input=stdin)
    out, err = result.stdout, result.stderr
    for text in (out, err):
        assert "Traceback" not in text
        assert KEY not in text
        assert REDIS_PASSWORD not in text
    return result.exit_code, out, err


def _redis_down() -> dict[str, Any]:
    return {
        "backend": "redis",
        "url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0",
        "onUnavailable": "closed",
    }


def _states(status: dict[str, Any]) -> set[str]:
    """Every state ``status --json`` shows: each candidate's and each of its keys'."""
    states = {c["state"]["state"] for c in status["candidates"]}
    return states | {k["state"] for c in status["candidates"] for k in c["keys"]}


def test_status_shows_cooldown_times_in_utc_with_the_time_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cooling key's "until" names its zone (UTC) and the seconds left (was a bare time)."""
    config = _config(tmp_path, {"backend": "file", "directory": str(tmp_path / "state")})
    monkeypatch.setenv("P1_KEY", KEY)
    table = require_route_table(str(config), environ={"P1_KEY": KEY})
    keys = candidate_keys(table.routes["auto"].candidates[0], table.providers["p1"])
    until = time.time() + 600

    async def seed() -> None:
        store = FileStateStore(tmp_path / "state")
        await store.update(
            keys["p1:main"][0], lambda _: Health(cooldown_until=until, cooldown_reason="auth")
        )
        await store.aclose()

    asyncio.run(seed())
    code, out, _ = _invoke(["status", "--config", str(config)], tmp_path)
    assert code == 0, out
    shown = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(until))
    assert f"{shown} UTC (in 9 min 5" in out  # 599 or 598 s left, never a local time


def test_status_with_an_unreachable_store_says_unknown_not_healthy(tmp_path: Path) -> None:
    """Redis down with onUnavailable closed: every state is "unknown" (was "healthy"), and the
    store error says what failed, not only its class name."""
    config = _config(tmp_path, _redis_down())
    code, out, _ = _invoke(["status", "--config", str(config), "--json"], tmp_path)
    assert code == 0, out
    data = json.loads(out)
    assert "redis unavailable" in data["store_error"]
    assert _states(data) == {"unknown"}
    _, text, _ = _invoke(["status", "--config", str(config)], tmp_path)
    assert "healthy" not in text
    assert "the states below are unknown" in text
    assert "openclaw-failover doctor" in text


def test_doctor_names_why_the_store_is_unreadable(tmp_path: Path) -> None:
    """doctor's state finding carries the store's own reason (was "(StateStoreError)")."""
    config = _config(tmp_path, _redis_down())
    code, out, _ = _invoke(["doctor", "--config", str(config), "--json"], tmp_path)
    assert code == 2, out
    (state,) = [f for f in json.loads(out) if f["check"] == "state"]
    assert state["level"] == "error"
    assert "redis unavailable" in state["message"]
    assert "redis://***@127.0.0.1" in state["message"]


def test_doctor_help_states_its_exit_codes(tmp_path: Path) -> None:
    """doctor --help says what its exit codes mean (0 ok, 1 warning, 2 error)."""
    code, out, _ = _invoke(["doctor", "--help"], tmp_path)
    assert code == 0
    assert "1 on a warning, 2 on an error" in " ".join(out.split()).replace("│", "")


def test_cooldowns_clear_with_no_answer_says_to_pass_yes(tmp_path: Path) -> None:
    """No answer on stdin (closed, a script): exit 1, nothing cleared, and how to clear without
    asking (was a bare "Aborted.")."""
    config = _config(tmp_path, {"backend": "file", "directory": str(tmp_path / "state")})
    code, _, err = _invoke(
        ["cooldowns", "clear", "--all", "--config", str(config)], tmp_path, stdin=""
    )
    assert code == 1
    assert "Aborted" not in err
    assert "nothing cleared" in err
    assert "pass --yes" in err


def test_ctrl_c_is_exit_130_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C during a command: exit 130 and one line on stderr saying so (was silent)."""

    def interrupted(*args: object, **kwargs: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(_service, "wait_for_port", interrupted)
    with pytest.raises(SystemExit) as info:
        cli.main(["service", "wait-port", "127.0.0.1:1", "--timeout", "1"])
    assert info.value.code == 130
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        "openclaw-failover: interrupted (Ctrl-C); the command stopped"
    ]


def test_serve_on_a_busy_port_says_what_to_do(tmp_path: Path) -> None:
    """Another process on the port: exit 1 naming the address and what to do about it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = _config(tmp_path, {"backend": "memory"}, port=port)
        code, _, err = _invoke(["serve", "--config", str(config)], tmp_path)
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "another process holds that port" in err
    assert "--port" in err


def test_status_on_a_store_degraded_to_empty_local_state_says_unknown(tmp_path: Path) -> None:
    """Redis down with onUnavailable local: this process's local state is empty, so every
    state is "unknown" (was "healthy" under a degraded note), and the note says so."""
    config = _config(tmp_path, {**_redis_down(), "onUnavailable": "local"})
    code, out, _ = _invoke(["status", "--config", str(config), "--json"], tmp_path)
    assert code == 0, out
    data = json.loads(out)
    assert "redis unavailable" in data["store_degraded"]
    assert data["store_error"] is None
    assert _states(data) == {"unknown"}
    _, text, _ = _invoke(["status", "--config", str(config)], tmp_path)
    assert "healthy" not in text
    assert "unknown when it holds none" in text


def test_a_wait_is_shown_in_units_an_operator_reads() -> None:
    """status's times give how far ahead they are in s, min or h, not 86399 s."""
    from openclaw_failover.cli._ops_view import _at

    now = 1_800_000_000.0
    assert _at(now + 45.5, now).endswith("(in 45 s)")
    assert _at(now + 245, now).endswith("(in 4 min 5 s)")
    assert _at(now + 600, now).endswith("(in 10 min)")
    assert _at(now + 86_399, now).endswith("(in 23 h 59 min)")
    assert _at(now + 7200, now).endswith("UTC (in 2 h)")
    assert _at(now - 5, now).endswith("UTC")
