"""cooldowns clear refuses what it cannot do: an unknown --profile, an unreachable store.

Before, a mistyped profile id selected nothing, and a Redis store that fell back to this
process's empty local state cleared nothing; both printed "0 cleared" and exited 0.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app

PASSWORD = "pw-REDIS-SECRET-0042"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, state: dict[str, str]) -> Path:
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": ["p2/m2"]}}},
        "providers": {
            "p1": {"auth": [{"key": "${P1_KEY}", "profile": "main"}]},
            "p2": {"auth": [{"key": "${P2_KEY}", "profile": "spare"}]},
        },
        "models": {
            "providers": {
                "p1": {"api": "openai-completions", "baseUrl": "http://127.0.0.1:9/v1"},
                "p2": {"api": "openai-completions", "baseUrl": "http://127.0.0.1:9/v1"},
            }
        },
        "failover": {"state": state, "proxy": {"port": _closed_port()}},
    }
    path = tmp_path / "failover.json"
    path.write_text(json.dumps(doc))
    return path


def _invoke(args: list[str], tmp_path: Path) -> tuple[int, str]:
    env = {
        "HOME": str(tmp_path),
        "OPENCLAW_STATE_DIR": str(tmp_path / "oc"),
        "P1_KEY": "p1-key-PLAIN-0001",
        "P2_KEY": "p2-key-PLAIN-0002",
    }
    result = CliRunner().invoke(app, args, env=env)
    output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, output
    return result.exit_code, output


def test_unknown_profile_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    """A mistyped --profile exits 2 naming it and the config's profile ids; nothing runs."""
    config = _config(tmp_path, {"backend": "file", "directory": str(tmp_path / "st")})
    code, out = _invoke(
        ["cooldowns", "clear", "--profile", "p1:mian", "--yes", "--config", str(config)], tmp_path
    )
    assert code == 2, out
    assert "--profile: found 'p1:mian'; expected one of p1:main, p2:spare" in out
    assert "cleared of" not in out


def test_profile_of_another_provider_is_refused(tmp_path: Path) -> None:
    """--profile with --provider must name a profile of that provider."""
    config = _config(tmp_path, {"backend": "file", "directory": str(tmp_path / "st")})
    args = ["cooldowns", "clear", "--provider", "p1", "--profile", "p2:spare", "--yes"]
    code, out = _invoke([*args, "--config", str(config)], tmp_path)
    assert code == 2, out
    assert "expected one of p1:main of provider 'p1'" in out


def test_known_profile_still_clears(tmp_path: Path) -> None:
    """A known --profile runs the clear as before (exit 0)."""
    config = _config(tmp_path, {"backend": "file", "directory": str(tmp_path / "st")})
    code, out = _invoke(
        ["cooldowns", "clear", "--profile", "p1:main", "--yes", "--config", str(config)], tmp_path
    )
    assert code == 0, out
    assert "0 cleared of 2 selected state keys" in out


@pytest.mark.parametrize("mode", ["local", "closed"])
def test_clear_against_unreachable_redis_fails_loudly(tmp_path: Path, mode: str) -> None:
    """With Redis down, clear exits 1 saying nothing was cleared and why (password masked)."""
    url = f"redis://:{PASSWORD}@127.0.0.1:{_closed_port()}/0"
    config = _config(tmp_path, {"backend": "redis", "url": url, "onUnavailable": mode})
    code, out = _invoke(["cooldowns", "clear", "--all", "--yes", "--config", str(config)], tmp_path)
    assert code == 1, out
    assert "nothing cleared" in out
    assert "redis at redis://***@127.0.0.1:" in out
    assert "unreachable" in out
    assert "cleared of" not in out
    assert PASSWORD not in out
