"""Against real OpenClaw 2026.9.6: the example is accepted, and what our rules flag it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from openclaw_failover.config import load_route_table

pytestmark = pytest.mark.openclaw_e2e

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "openclaw.json5"
KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-FAKE-e2e-1",
    "ANTHROPIC_API_KEY_2": "sk-ant-FAKE-e2e-2",
    "OPENAI_API_KEY": "sk-openai-FAKE-e2e",
    "OPENROUTER_API_KEY": "sk-or-FAKE-e2e",
}


def _validate(home) -> dict:
    result = home.run_cli(["config", "validate", "--json"])
    return result.json()


def test_openclaw_accepts_the_example(openclaw_home):
    """`openclaw config validate` accepts examples/openclaw.json5, as our validate does."""
    openclaw_home.extra_env.update(KEYS)
    openclaw_home.write_config(EXAMPLE.read_text())
    assert _validate(openclaw_home)["valid"] is True
    ours = load_route_table(openclaw_home.config_path, environ=openclaw_home.env)
    assert ours.problems == ()


def test_openclaw_refuses_what_migrate_fixes(openclaw_home):
    """OpenClaw rejects root providers and fallback2; migrate --write makes it accept the file."""
    openclaw_home.extra_env.update(KEYS)
    model = {
        "primary": "anthropic/claude-opus-4-6",
        "fallback": "openai/gpt-5.4-mini",
        "fallback2": "ollama/qwen3:8b",
    }
    ollama = {
        "api": "ollama",
        "baseUrl": "http://127.0.0.1:11434",
        "apiKey": "ollama-local",
        "models": [{"id": "qwen3:8b", "name": "Qwen3 8B"}],
    }
    doc = {
        "agents": {"defaults": {"model": model}},
        "providers": {"anthropic": {"auth": [{"key": "${ANTHROPIC_API_KEY}"}]}},
        "models": {"providers": {"ollama": ollama}},
    }
    openclaw_home.write_config(doc)
    before = _validate(openclaw_home)
    assert before["valid"] is False
    rules = {
        p.rule
        for p in load_route_table(openclaw_home.config_path, environ=openclaw_home.env).problems
    }
    assert {"openclaw.root-providers", "openclaw.fallback-keys"} <= rules
    result = CliRunner().invoke(
        app,
        ["migrate", "--write", "--config", str(openclaw_home.config_path)],
        env=openclaw_home.env,
    )
    assert result.exit_code == 0, result.output
    assert _validate(openclaw_home)["valid"] is True
