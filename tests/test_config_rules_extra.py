"""Rule variants test_config_rules.py leaves out: the second half of two-part rules, and the
state rules. Each has a failing config and a near miss that must pass."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.fixtures.config import base_openclaw, base_standalone

BLOCK = "plugins.entries.openclaw-failover.config"


def _findings(result, rule: str) -> list:
    return [p for p in result.problems if p.rule == rule]


def _clean(result) -> None:
    assert result.problems == (), [(p.rule, p.path, p.message) for p in result.problems]
    assert result.table is not None


def _api_doc(plugin_api: str, shared_api: str) -> dict:
    doc = base_openclaw()
    providers = doc["plugins"]["entries"]["openclaw-failover"]["config"]["providers"]
    providers["openai"] = {"auth": [{"key": "${OPENAI_API_KEY}"}], "api": plugin_api}
    doc["models"]["providers"]["openai"] = {"api": shared_api}
    return doc


def test_api_conflict_between_plugin_block_and_models_providers(load_doc):
    """provider.conflict also covers api: two different values are an error at the block's key."""
    broken = load_doc(_api_doc("openai-completions", "ollama"), name="openclaw.json")
    (problem,) = _findings(broken, "provider.conflict")
    assert problem.path == f"{BLOCK}.providers.openai.api"
    assert "'openai-completions' here and 'ollama' in models.providers.openai.api" in (
        problem.message
    )
    assert (problem.severity, problem.fix) == ("error", "keep api in one place only")
    assert broken.table is None
    _clean(load_doc(_api_doc("openai-completions", "openai-completions"), name="openclaw.json"))


def test_providers_both_at_the_root_and_under_failover(load_doc):
    """standalone.duplicate-key also covers providers; providers under failover alone is fine."""
    doc = base_standalone()
    doc["failover"] = {"providers": {"openai": {"auth": [{"key": "${OPENAI_API_KEY}"}]}}}
    broken = load_doc(doc)
    (problem,) = _findings(broken, "standalone.duplicate-key")
    assert problem.path == "failover.providers"
    assert "providers both here and at providers" in problem.message
    assert broken.table is None
    near = base_standalone()
    near["failover"] = {"providers": near.pop("providers")}
    _clean(load_doc(near))


def _tools(fallback_tools: bool) -> dict:
    doc = base_standalone()
    shared = doc["models"]["providers"]
    shared["anthropic"] = {"models": [{"id": "claude-opus-4-6", "compat": {"supportsTools": True}}]}
    shared["openai"] = {
        "models": [{"id": "gpt-5.4-mini", "compat": {"supportsTools": fallback_tools}}]
    }
    return doc


def test_fallback_without_tool_support_is_a_downgrade_warning(load_doc):
    """A fallback without tools behind a tool-using primary warns at its chain entry; with tools,
    nothing is reported."""
    broken = load_doc(_tools(fallback_tools=False))
    (problem,) = broken.problems
    assert (problem.rule, problem.path, problem.severity) == (
        "chain.capability-downgrade",
        "agents.defaults.model.fallbacks[0]",
        "warning",
    )
    assert "'openai/gpt-5.4-mini' with no tool support than the primary" in problem.message
    assert broken.table is not None
    _clean(load_doc(_tools(fallback_tools=True)))


def test_unwritable_state_folder_is_a_warning_at_its_setting(load_doc, tmp_path: Path):
    """A state folder that cannot be created is state.salt-unavailable at failover.state.directory;
    a writable one is clean."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    doc = base_standalone()
    doc["failover"] = {"state": {"directory": str(blocker / "failover")}}
    broken = load_doc(doc)
    (problem,) = broken.problems
    assert (problem.rule, problem.path, problem.severity) == (
        "state.salt-unavailable",
        "failover.state.directory",
        "warning",
    )
    assert f"{blocker / 'failover'} not writable" in problem.message
    assert broken.table is not None
    doc["failover"]["state"]["directory"] = str(tmp_path / "writable" / "failover")
    _clean(load_doc(doc))


def test_redis_backend_without_the_client_is_a_warning(load_doc, monkeypatch):
    """backend redis with the redis client missing is state.redis-missing at state.backend;
    with the client installed the same config is clean (Redis down keeps the local salt)."""
    doc = base_standalone()
    doc["failover"] = {"state": {"backend": "redis", "url": "redis://127.0.0.1:1/0"}}
    with monkeypatch.context() as patched:
        patched.setitem(sys.modules, "openclaw_failover.stores.redis", None)
        broken = load_doc(doc)
    (problem,) = broken.problems
    assert (problem.rule, problem.path, problem.severity) == (
        "state.redis-missing",
        "failover.state.backend",
        "warning",
    )
    assert "without the redis client installed" in problem.message
    assert "openclaw-failover[redis]" in problem.fix
    pytest.importorskip("redis")
    _clean(load_doc(doc))


def test_plaintext_secret_suggests_a_variable_and_never_shows_the_key(load_doc):
    """secret.plaintext names the ${VAR} to use instead and does not repeat the inline key."""
    doc = base_standalone()
    doc["providers"]["anthropic"]["auth"][0]["key"] = "sk-ant-FAKE-inline-3Zq8"
    (problem,) = load_doc(doc).problems
    assert (problem.rule, problem.severity) == ("secret.plaintext", "warning")
    assert '"${ANTHROPIC_API_KEY}"' in problem.expected
    assert "write ${VAR} here" in problem.fix
    assert "sk-ant-FAKE-inline-3Zq8" not in problem.message
