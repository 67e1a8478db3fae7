"""Install and uninstall on a realistic OpenClaw home (config edits only; no OpenClaw CLI)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import json5
import pytest

from openclaw_failover._install import (
    BACKUP_SUFFIX,
    SETTINGS_NAME,
    InstallError,
    install,
    resolve_target,
    uninstall,
)
from openclaw_failover._install_plan import (
    PROVIDER_ID,
    ROUTED_PRIMARY,
    InstallOptions,
    plan_install,
    plan_uninstall,
)

REALISTIC = """// my OpenClaw home
{
  agents: {
    defaults: {
      model: { primary: "anthropic/claude-opus-4-6", fallbacks: ["openai/gpt-5.4-mini"] }, // chain
      workspace: "WORKSPACE",
    },
    entries: {
      research: { model: { primary: "openai/gpt-5.4", fallbacks: ["anthropic/claude-opus-4-6"] } },
      strict: { model: "anthropic/claude-opus-4-6" },
    },
  },
  auth: {
    profiles: { "anthropic:default": { provider: "anthropic", mode: "api_key" } },
    order: { anthropic: ["anthropic:default"] },
  },
  models: { providers: { ollama: { baseUrl: "http://127.0.0.1:11434", api: "ollama",
                                   apiKey: "ollama-local", models: [] } } },
}
"""


@pytest.fixture
def home(tmp_path: Path) -> dict[str, Any]:
    state = tmp_path / "state"
    state.mkdir()
    workspace = tmp_path / "work"
    config = state / "openclaw.json"
    config.write_text(REALISTIC.replace("WORKSPACE", str(workspace)), encoding="utf-8")
    env = {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(config), "PATH": ""}
    target = resolve_target(str(config), state_dir=str(state), workspace=None, environ=env)
    return {"config": config, "state": state, "workspace": workspace, "target": target}


def _load(path: Path) -> dict[str, Any]:
    data = json5.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_provider_install_moves_chain_and_adds_failover_provider(home: dict[str, Any]) -> None:
    """Provider mode moves the chain into the plugin block and points OpenClaw at the proxy."""
    install(home["target"], mode="provider", use_openclaw_cli=False)
    doc = _load(home["config"])
    block = doc["plugins"]["entries"]["openclaw-failover"]["config"]
    assert block["model"] == {
        "primary": "anthropic/claude-opus-4-6",
        "fallbacks": ["openai/gpt-5.4-mini"],
    }
    assert doc["agents"]["defaults"]["model"] == {"primary": ROUTED_PRIMARY, "fallbacks": []}
    provider = doc["models"]["providers"][PROVIDER_ID]
    assert provider["api"] == "openai-completions"
    assert provider["baseUrl"].startswith("http://127.0.0.1:")
    assert provider["timeoutSeconds"] == 180
    assert provider["apiKey"] == "${OPENCLAW_FAILOVER_TOKEN}"
    assert provider["localService"]["args"][-1] == str(home["config"])
    assert "allowConversationAccess" not in json.dumps(doc)
    assert (home["workspace"] / "skills" / "openclaw-failover").is_dir()


def test_token_is_written_to_openclaw_env_file_with_private_mode(home: dict[str, Any]) -> None:
    """The proxy token lands in OpenClaw's .env (0600), never inline in openclaw.json."""
    install(home["target"], mode="provider", use_openclaw_cli=False)
    env_file = home["state"] / ".env"
    line = env_file.read_text(encoding="utf-8").strip()
    assert line.startswith("OPENCLAW_FAILOVER_TOKEN=")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert line.split("=", 1)[1] not in home["config"].read_text(encoding="utf-8")


def test_agents_with_own_chains_are_listed_not_rerouted(home: dict[str, Any]) -> None:
    """An agent with its own chain bypasses the proxy unless --agents names it."""
    plan, _ = install(home["target"], mode="provider", use_openclaw_cli=False)
    assert any("'research'" in note for note in plan.notes)
    doc = _load(home["config"])
    assert doc["agents"]["entries"]["research"]["model"]["primary"] == "openai/gpt-5.4"


def test_agents_option_routes_that_agent_through_a_named_route(home: dict[str, Any]) -> None:
    """--agents research gives that agent its own proxy route holding its old chain."""
    install(home["target"], mode="provider", agents=("research",), use_openclaw_cli=False)
    doc = _load(home["config"])
    assert doc["agents"]["entries"]["research"]["model"]["primary"] == "failover/agent-research"
    routes = doc["plugins"]["entries"]["openclaw-failover"]["config"]["routes"]
    assert routes["agent-research"]["primary"] == "openai/gpt-5.4"
    assert doc["agents"]["entries"]["strict"]["model"] == "anthropic/claude-opus-4-6"


def test_install_twice_edit_uninstall_restores_original_plus_edit(home: dict[str, Any]) -> None:
    """Install twice, an operator edit, uninstall: original + edit, settings kept, backup intact."""
    before = home["config"].read_text(encoding="utf-8")
    original = _load(home["config"])
    install(home["target"], mode="provider", agents=("research",), use_openclaw_cli=False)
    once = _load(home["config"])
    install(home["target"], mode="provider", agents=("research",), use_openclaw_cli=False)
    assert _load(home["config"]) == once
    edited = _load(home["config"])
    edited["agents"]["defaults"]["timeoutSeconds"] = 600
    edited["plugins"]["entries"]["openclaw-failover"]["config"]["alerts"] = {"localShare": 0.5}
    home["config"].write_text(json.dumps(edited), encoding="utf-8")

    uninstall(home["target"])
    expected = json5.loads(before)
    expected["agents"]["defaults"]["timeoutSeconds"] = 600
    assert _load(home["config"]) == expected
    assert original != expected
    backup = home["config"].with_name(home["config"].name + BACKUP_SUFFIX)
    assert backup.read_text(encoding="utf-8") == before
    kept = json.loads((home["config"].parent / SETTINGS_NAME).read_text(encoding="utf-8"))
    assert kept["alerts"] == {"localShare": 0.5}
    assert not (home["workspace"] / "skills" / "openclaw-failover").exists()


def test_reinstall_after_uninstall_restores_kept_settings(home: dict[str, Any]) -> None:
    """Settings kept by uninstall come back with the next install."""
    install(home["target"], mode="provider", use_openclaw_cli=False)
    doc = _load(home["config"])
    doc["plugins"]["entries"]["openclaw-failover"]["config"]["alerts"] = {"localShare": 0.5}
    home["config"].write_text(json.dumps(doc), encoding="utf-8")
    uninstall(home["target"])
    install(home["target"], mode="provider", use_openclaw_cli=False)
    block = _load(home["config"])["plugins"]["entries"]["openclaw-failover"]["config"]
    assert block["alerts"] == {"localShare": 0.5}


def test_plugin_mode_keeps_chain_and_grants_conversation_access(home: dict[str, Any]) -> None:
    """Plugin mode leaves OpenClaw's chain in place, copies it, and allows conversation hooks."""
    install(home["target"], mode="plugin", use_openclaw_cli=False)
    doc = _load(home["config"])
    entry = doc["plugins"]["entries"]["openclaw-failover"]
    assert entry["hooks"] == {"allowConversationAccess": True}
    assert doc["agents"]["defaults"]["model"]["primary"] == "anthropic/claude-opus-4-6"
    assert entry["config"]["mode"] == "plugin"
    assert PROVIDER_ID not in doc["models"]["providers"]
    assert entry["config"]["model"]["primary"] == "anthropic/claude-opus-4-6"


def test_dry_run_writes_nothing_and_shows_a_diff(home: dict[str, Any]) -> None:
    """--dry-run prints the change and leaves every file as it was."""
    before = home["config"].read_text(encoding="utf-8")
    _, diff = install(home["target"], mode="provider", dry_run=True, use_openclaw_cli=False)
    assert '"primary": "failover/auto"' in diff
    assert home["config"].read_text(encoding="utf-8") == before
    assert not home["config"].with_name(home["config"].name + BACKUP_SUFFIX).exists()


def test_include_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """A config that uses $include is refused, naming the file and what to do."""
    config = tmp_path / "openclaw.json"
    config.write_text('{ agents: { $include: "./agents.json5" } }', encoding="utf-8")
    env = {"OPENCLAW_STATE_DIR": str(tmp_path), "PATH": ""}
    with pytest.raises(InstallError, match=r"\$include"):
        resolve_target(str(config), state_dir=str(tmp_path), workspace=None, environ=env)


def test_plan_uninstall_uses_the_edited_chain_when_operator_changed_it() -> None:
    """If the operator edited the chain in the plugin block, uninstall restores the edited one."""
    original = {"agents": {"defaults": {"model": "anthropic/a"}}}
    plan = plan_install(original, InstallOptions(config_path="/x/openclaw.json"))
    edited = json.loads(json.dumps(plan.doc))
    edited["plugins"]["entries"]["openclaw-failover"]["config"]["model"] = {
        "primary": "openai/b",
        "fallbacks": ["anthropic/a"],
    }
    undone = plan_uninstall(edited, plan.bookkeeping)
    assert undone.doc["agents"]["defaults"]["model"] == {
        "primary": "openai/b",
        "fallbacks": ["anthropic/a"],
    }


def test_plan_uninstall_restores_the_original_string_form_when_unchanged() -> None:
    """An unchanged chain comes back in its original form (a plain string stays a string)."""
    original = {"agents": {"defaults": {"model": "anthropic/a"}}}
    plan = plan_install(original, InstallOptions(config_path="/x/openclaw.json"))
    undone = plan_uninstall(plan.doc, plan.bookkeeping)
    assert undone.doc["agents"]["defaults"]["model"] == "anthropic/a"
