"""install's proxy token and its --config: a commented-out or empty token line is no token, and
a mistyped --config is refused instead of becoming a new file."""

from __future__ import annotations

from pathlib import Path

from openclaw_failover.config._env import parse_dotenv

from .test_install_guards import CHAIN, _cli, _home


def test_a_commented_out_token_line_gets_a_real_token(tmp_path: Path) -> None:
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    env_file = config.parent / ".env"
    env_file.write_text("# OPENCLAW_FAILOVER_TOKEN=old-one-disabled\nFOO=1\n", encoding="utf-8")
    code, out = _cli(config, "install")
    assert code == 0, out
    token = parse_dotenv(env_file.read_text("utf-8")).get("OPENCLAW_FAILOVER_TOKEN")
    assert token
    assert token != "old-one-disabled"
    assert "OPENCLAW_FAILOVER_TOKEN added" in out


def test_an_empty_token_line_is_refused_by_name(tmp_path: Path) -> None:
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    env_file = config.parent / ".env"
    env_file.write_text("OPENCLAW_FAILOVER_TOKEN=\n", encoding="utf-8")
    code, out = _cli(config, "install")
    assert code == 2
    assert f"{env_file}: OPENCLAW_FAILOVER_TOKEN is set but empty" in out
    assert "Traceback" not in out


def test_a_mistyped_config_path_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    typo = config.with_name("openclaw.jsno")
    before = sorted(p.name for p in config.parent.iterdir())
    code, out = _cli(typo, "install", "--mode", "plugin")
    assert code == 2
    assert f"--config: {typo} does not exist" in out
    assert not typo.exists()
    assert sorted(p.name for p in config.parent.iterdir()) == before
