"""auth.no-usable-key gives a fix that works: the variable the config names, not a convention.

Once a provider has keys in the config (``auth[]`` or ``apiKey``), OpenClaw's env names
(``<PROVIDER>_API_KEY``...) are not consulted, so "export ANTHROPIC_API_KEY=..." fixes nothing
for ``key: "${TEAM_ANTHROPIC}"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openclaw_failover._errors import Problem
from openclaw_failover.config import LoadResult
from tests.fixtures.config import base_openclaw, base_standalone

Load = Callable[..., LoadResult]


def _no_key(result: LoadResult, provider: str) -> Problem:
    (problem,) = [
        p for p in result.errors if p.rule == "auth.no-usable-key" and f"'{provider}'" in p.found
    ]
    return problem


def _anthropic_auth(*keys: Any) -> dict[str, Any]:
    doc = base_standalone()
    doc["providers"]["anthropic"]["auth"] = [{"key": k} for k in keys]
    return doc


def test_fix_names_the_variable_the_auth_entry_references(load_doc: Load) -> None:
    doc = _anthropic_auth("${TEAM_ANTHROPIC}")
    problem = _no_key(load_doc(doc, env={"ANTHROPIC_API_KEY": ""}), "anthropic")
    assert "export TEAM_ANTHROPIC=" in problem.fix
    assert "ANTHROPIC_API_KEY=" not in problem.fix
    # what the old fix said does not help: the env name is not read once auth[] is given
    still = load_doc(doc, env={"ANTHROPIC_API_KEY": "sk-ant-FAKE-conv-1234567890"})
    assert _no_key(still, "anthropic")


def test_fix_names_every_unset_variable(load_doc: Load) -> None:
    doc = _anthropic_auth("${TEAM_A}", "${TEAM_B}")
    problem = _no_key(load_doc(doc), "anthropic")
    assert "export TEAM_A=" in problem.fix
    assert "export TEAM_B=" in problem.fix


def test_fix_names_the_env_secretref_id(load_doc: Load) -> None:
    doc = _anthropic_auth({"source": "env", "provider": "default", "id": "ANTHROPIC_TEAM_KEY"})
    problem = _no_key(load_doc(doc), "anthropic")
    assert "export ANTHROPIC_TEAM_KEY=" in problem.fix


def test_fix_for_a_models_providers_api_key(load_doc: Load) -> None:
    doc = base_openclaw()
    doc["agents"]["defaults"]["model"]["fallbacks"].insert(0, "hf/llama")
    doc["models"]["providers"]["hf"] = {
        "baseUrl": "https://router.example.test/v1",
        "api": "openai-completions",
        "apiKey": "${HF_TOKEN}",
    }
    problem = _no_key(load_doc(doc, name="openclaw.json"), "hf")
    assert "export HF_TOKEN=" in problem.fix
    assert "HF_API_KEY=" not in problem.fix


def test_fix_for_a_profile_id_asks_for_a_key_reference(load_doc: Load) -> None:
    """A profile id's secret is in OpenClaw's store: exporting a variable does not help."""
    doc = _anthropic_auth("anthropic:manual")
    problem = _no_key(load_doc(doc), "anthropic")
    assert '"${ANTHROPIC_API_KEY}" in providers.anthropic.auth' in problem.fix


def test_fix_without_config_keys_is_the_env_convention(load_doc: Load) -> None:
    """No key in the config: OpenClaw's env names are read, so they are the fix."""
    doc = base_standalone()
    del doc["providers"]["anthropic"]
    unset = {"ANTHROPIC_API_KEY": "", "ANTHROPIC_API_KEY_2": ""}
    problem = _no_key(load_doc(doc, env=unset), "anthropic")
    assert "export ANTHROPIC_API_KEY=" in problem.fix
