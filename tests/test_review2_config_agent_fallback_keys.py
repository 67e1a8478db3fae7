"""fallbackN in a per-agent chain: the fix says what ``migrate --write`` really does there.

For agents.entries/agents.list it rewrites the chain as fallbacks[] in place; it moves only
agents.defaults.model to the plugin block, which the old fix claimed for every chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openclaw_failover.config import LoadResult
from openclaw_failover.config._migrate import plan_migration
from tests.fixtures.config import base_openclaw

Load = Callable[..., LoadResult]


def _doc() -> dict[str, Any]:
    doc = base_openclaw()
    doc["agents"]["list"] = [
        {"id": "ops", "model": {"primary": "openai/gpt-5.4-mini", "fallback": "ollama/qwen3:8b"}}
    ]
    return doc


def test_per_agent_fix_matches_the_migration(load_doc: Load) -> None:
    result = load_doc(_doc(), name="openclaw.json")
    (problem,) = [p for p in result.errors if p.rule == "openclaw.fallback-keys"]
    assert problem.path == "agents.list[0].model.fallback"
    assert "plugins.entries" not in problem.fix
    assert "agents.list[0].model.fallbacks" in problem.fix
    moved = plan_migration(_doc()).document["agents"]["list"][0]["model"]
    assert moved == {"primary": "openai/gpt-5.4-mini", "fallbacks": ["ollama/qwen3:8b"]}


def test_defaults_fix_still_names_the_plugin_block(load_doc: Load) -> None:
    doc = base_openclaw()
    doc["agents"]["defaults"]["model"] = {"primary": "openai/gpt-5.4-mini", "fallback": "x/y"}
    result = load_doc(doc, name="openclaw.json")
    (problem,) = [p for p in result.errors if p.rule == "openclaw.fallback-keys"]
    assert "plugins.entries.openclaw-failover.config.model" in problem.fix
