"""Every key this process knows of is masked in validate, status and doctor, and URL credentials.

Keys come from the process env, ``$OPENCLAW_STATE_DIR/.env`` and the config's ``env.vars``; a
chain entry such as ``"openai/${OPENAI_API_KEY}"`` (a mistake) puts one into a model ref, so it
reaches findings and tables. The values here are deliberately not key-shaped, so only masking
by known value can hide them.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from openclaw_failover.config._redact import known_secrets, mask_url, scrub_text, scrub_tree

DOTENV_KEY = "dotenv-PLAIN-secret-0042xyz"
VARS_KEY = "envvars-PLAIN-secret-0077abc"
PROCESS_KEY = "process-PLAIN-secret-0099def"
SHAPED_KEY = "sk-proj-SHAPEDLITERAL0123456789abcdef"
URL_PASSWORD = "OLLAMAPASS-0123"
ALL = (DOTENV_KEY, VARS_KEY, PROCESS_KEY, SHAPED_KEY, URL_PASSWORD)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _home(tmp_path: Path, *, primary: str, fallbacks: list[str]) -> tuple[Path, dict[str, str]]:
    """A standalone config with keys from .env and env.vars, and a local tier URL with a
    password; returns it with the environment to run under."""
    state = tmp_path / "oc"
    state.mkdir()
    (state / ".env").write_text(f"OPENAI_API_KEY={DOTENV_KEY}\n")
    doc = {
        "env": {"vars": {"GROQ_API_KEY": VARS_KEY}},
        "agents": {"defaults": {"model": {"primary": primary, "fallbacks": fallbacks}}},
        "models": {
            "providers": {
                "ollama": {
                    "api": "ollama",
                    "baseUrl": f"http://admin:{URL_PASSWORD}@127.0.0.1:9/",
                    "apiKey": "ollama-local",
                    "models": [{"id": "qwen3:8b"}],
                }
            }
        },
        "failover": {
            "state": {"backend": "file", "directory": str(tmp_path / "st")},
            "proxy": {"port": _closed_port()},
            "audit": {"path": str(tmp_path / "audit.jsonl")},
        },
    }
    config = tmp_path / "failover.json"
    config.write_text(json.dumps(doc))
    env = {
        "HOME": str(tmp_path),
        "OPENCLAW_STATE_DIR": str(state),
        "ANTHROPIC_API_KEY": PROCESS_KEY,
        "OPENAI_API_KEY": "",
        "GROQ_API_KEY": "",
        "COLUMNS": "200",
    }
    return config, env


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env=env)
    output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, output
    return result.exit_code, output


def _leaks(output: str) -> list[str]:
    return [key for key in ALL if key in output]


def test_validate_masks_keys_from_dotenv_env_vars_and_key_shaped_text(tmp_path: Path) -> None:
    """validate's 'found' shows *** for a .env key, an env.vars key and a key-shaped literal."""
    config, env = _home(
        tmp_path,
        primary="${OPENAI_API_KEY}",
        fallbacks=["${GROQ_API_KEY}", SHAPED_KEY, "ollama/qwen3:8b"],
    )
    for args in (["validate"], ["validate", "--json"]):
        code, out = _invoke([*args, "--config", str(config)], env)
        assert code == 2, out
        assert "***" in out
        assert _leaks(out) == [], out


@pytest.mark.parametrize("command", ["status", "doctor"])
@pytest.mark.parametrize("as_json", [False, True])
def test_status_and_doctor_mask_keys_in_model_refs_and_url_credentials(
    tmp_path: Path, command: str, as_json: bool
) -> None:
    """status and doctor (table and JSON) print no key from any source and no URL password;
    the local tier URL is shown with its credentials as ***."""
    config, env = _home(
        tmp_path,
        primary="anthropic/${ANTHROPIC_API_KEY}",
        fallbacks=["openai/${OPENAI_API_KEY}", "groq/${GROQ_API_KEY}", "ollama/qwen3:8b"],
    )
    args = [command, "--config", str(config), *(["--json"] if as_json else [])]
    _, out = _invoke(args, env)
    assert _leaks(out) == [], out
    assert "http://***@127.0.0.1:9/" in out
    assert "openai/***" in out or command == "doctor"


def test_doctor_masks_keys_in_config_findings(tmp_path: Path) -> None:
    """doctor's config findings (check_config) mask a key substituted into a chain entry."""
    config, env = _home(
        tmp_path, primary="${OPENAI_API_KEY}", fallbacks=["${GROQ_API_KEY}", "ollama/qwen3:8b"]
    )
    code, out = _invoke(["doctor", "--config", str(config), "--json"], env)
    assert code == 2, out
    assert "found '***'" in out
    assert _leaks(out) == [], out


def test_status_of_an_invalid_config_masks_its_problems(tmp_path: Path) -> None:
    """status with config errors prints them masked (it shows why it cannot load)."""
    config, env = _home(tmp_path, primary="${OPENAI_API_KEY}", fallbacks=["ollama/qwen3:8b"])
    code, out = _invoke(["status", "--config", str(config)], env)
    assert code == 2, out
    assert "***" in out
    assert _leaks(out) == [], out


def test_known_secrets_gathers_every_source(tmp_path: Path) -> None:
    """known_secrets has the process env, .env, env.vars and inline keys, not dummies."""
    config, env = _home(tmp_path, primary="a/b", fallbacks=[])
    doc = json.loads(config.read_text())
    doc["models"]["providers"]["acme"] = {"apiKey": "inline-PLAIN-secret-0001"}
    config.write_text(json.dumps(doc))
    found = known_secrets(env, config_path=config)
    assert {DOTENV_KEY, VARS_KEY, PROCESS_KEY, "inline-PLAIN-secret-0001"} <= found
    assert "ollama-local" not in found


def test_scrub_masks_key_shapes_and_url_userinfo() -> None:
    """Key-shaped tokens and URL credentials are masked even when no source names them."""
    text = (
        "openai/sk-proj-ABCDEFGHIJKLMNOPQRSTUV at redis://:pw@127.0.0.1:1/0 gsk_0123456789abcdefXYZ"
    )
    assert scrub_text(text, ()) == "openai/*** at redis://***@127.0.0.1:1/0 ***"
    assert mask_url("http://admin:pw@127.0.0.1:9/") == "http://***@127.0.0.1:9/"
    assert mask_url("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"
    assert scrub_tree({"k": ["x secret-value-1 y"]}, {"secret-value-1"}) == {"k": ["x *** y"]}


def test_serve_masks_keys_in_config_errors(tmp_path: Path) -> None:
    """serve's config-error lines mask a .env key substituted into a chain entry."""
    config, env = _home(tmp_path, primary="${OPENAI_API_KEY}", fallbacks=["ollama/qwen3:8b"])
    code, out = _invoke(["serve", "--config", str(config)], env)
    assert code == 2, out
    assert "found '***'" in out
    assert _leaks(out) == [], out
