"""The command line's last seam: an unexpected error is one masked line and exit 1."""

from __future__ import annotations

import pytest

from openclaw_failover import cli


def test_an_unexpected_error_is_one_line_with_every_secret_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    """A bug that quotes a key from the environment, a key-shaped token and a redis URL's
    password: one line on stderr, exit 1, none of the three in it."""
    env_key = "plain-env-secret-0123456789abcdef"
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ANTHROPIC_API_KEY", env_key)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            f"failed with {env_key}, sk-proj-ABCDEFGHIJKLMNOPQRSTUV and "
            "redis://:hunter2-redis-pass@127.0.0.1:6379/0"
        )

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as info:
        cli.main(["status"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("openclaw-failover: error: RuntimeError: failed with ")
    assert len(err.strip().splitlines()) == 1
    for secret in (env_key, "sk-proj-ABCDEFGHIJKLMNOPQRSTUV", "hunter2-redis-pass"):
        assert secret not in err
    assert "127.0.0.1:6379" in err
