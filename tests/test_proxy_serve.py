"""``openclaw-failover serve``: the bind rule (loopback unless --allow-remote and a token)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from openclaw_failover.proxy._bind import bind_refusal, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_allowed(host: str) -> None:
    """Loopback addresses bind without --allow-remote or a token."""
    assert is_loopback(host)
    assert bind_refusal(host, allow_remote=False, has_token=False) is None


def test_remote_bind_needs_allow_remote() -> None:
    """A non-loopback bind without --allow-remote is refused, naming the flag."""
    reason = bind_refusal("0.0.0.0", allow_remote=False, has_token=True)
    assert reason is not None
    assert "--allow-remote" in reason


def test_remote_bind_needs_token() -> None:
    """--allow-remote alone is not enough: a token must be configured."""
    reason = bind_refusal("10.1.2.3", allow_remote=True, has_token=False)
    assert reason is not None
    assert "proxy.token" in reason


def test_remote_bind_with_flag_and_token() -> None:
    """--allow-remote plus a token allows a non-loopback bind."""
    assert bind_refusal("0.0.0.0", allow_remote=True, has_token=True) is None
    assert not is_loopback("example-host")


STANDALONE = """{
  agents: { defaults: { model: { primary: "p1/m1", fallbacks: ["p2/m2"] } } },
  providers: { p1: { auth: [{ key: "${P1_API_KEY}" }] }, p2: { auth: [{ key: "${P1_API_KEY}" }] } },
  models: { providers: {
    p1: { api: "openai-completions", baseUrl: "http://127.0.0.1:9/v1" },
    p2: { api: "openai-completions", baseUrl: "http://127.0.0.1:9/v1" },
  } },
  failover: { state: { backend: "memory" } },
}
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("P1_API_KEY", "sk-FAKE-serve-test")
    return tmp_path


def test_cli_refuses_remote_bind(home: Path) -> None:
    """`serve --host 0.0.0.0` without --allow-remote exits 2 with the reason."""
    config = home / "failover.json5"
    config.write_text(STANDALONE)
    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--allow-remote" in result.output
    assert "sk-FAKE" not in result.output


def test_cli_invalid_config_names_problems(home: Path) -> None:
    """`serve` on an invalid file exits 2 naming the file and the bad path, no traceback."""
    config = home / "failover.json5"
    config.write_text(STANDALONE.replace('"p1/m1"', "5"))
    result = CliRunner().invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "invalid configuration" in result.output
    assert "Traceback" not in result.output
