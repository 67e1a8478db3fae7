"""Per-agent chains (agents.entries.<id>.model, agents.list[].model) get the default chain's
drift checks, each finding at the agent's own path and reported once, as a warning: the chain
is OpenClaw's to run, its providers may come from the agent's own models.json (not read here),
and a finding there must not stop serve."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from openclaw_failover.config import LoadResult
from tests.fixtures.config import base_openclaw

Load = Callable[..., LoadResult]


def _with_gateway(doc: dict[str, Any]) -> dict[str, Any]:
    doc["models"]["providers"]["gw"] = {
        "api": "openai-completions",
        "baseUrl": "http://127.0.0.1:9000/v1",
        "apiKey": "${OPENAI_API_KEY}",
        "models": [{"id": "m1"}],
    }
    return doc


def _found(result: LoadResult, rule: str) -> list[str]:
    return [p.path for p in result.problems if p.rule == rule]


def test_removed_provider_in_a_legacy_agent_chain(load_doc: Load) -> None:
    doc = base_openclaw()
    doc["agents"]["list"] = [
        {"id": "main"},
        {"id": "ops", "model": {"primary": "openai/gpt-5.4-mini", "fallbacks": ["gone/m1"]}},
    ]
    result = load_doc(doc, name="openclaw.json")
    assert _found(result, "chain.drift") == ["agents.list[1].model.fallbacks[0]"]
    (problem,) = [p for p in result.problems if p.rule == "chain.drift"]
    assert problem.severity == "warning"
    assert "'gone'" in problem.found
    assert "models.providers" in problem.fix
    assert result.table is not None  # the route table still loads


def test_model_the_provider_does_not_list_in_an_agent_entry(load_doc: Load) -> None:
    doc = _with_gateway(base_openclaw())
    doc["agents"]["entries"] = {"ops": {"model": "gw/m2"}, "ok": {"model": "gw/m1"}}
    result = load_doc(doc, name="openclaw.json")
    assert _found(result, "chain.drift") == ["agents.entries.ops.model"]
    (problem,) = [p for p in result.problems if p.rule == "chain.drift"]
    assert problem.severity == "warning"
    assert "m1" in problem.expected


def test_invalid_and_repeated_refs_in_an_agent_chain(load_doc: Load) -> None:
    doc = base_openclaw()
    doc["agents"]["entries"] = {
        "ops": {
            "model": {
                "primary": "anthropic/claude-opus-4-6",
                "fallbacks": ["no-slash", "anthropic/claude-opus-4-6"],
            }
        }
    }
    result = load_doc(doc, name="openclaw.json")
    assert _found(result, "chain.invalid") == ["agents.entries.ops.model.fallbacks[0]"]
    assert _found(result, "chain.duplicate") == ["agents.entries.ops.model.fallbacks[1]"]


def test_an_agent_repeating_the_default_chain_reports_each_finding_once(load_doc: Load) -> None:
    doc = base_openclaw()
    chain = {"primary": "anthropic/claude-opus-4-6", "fallbacks": ["gone/m1"]}
    doc["agents"]["defaults"]["model"] = dict(chain)
    doc["agents"]["entries"] = {"ops": {"model": dict(chain)}}
    doc["agents"]["list"] = [{"id": "ops", "model": dict(chain)}]  # shadowed by entries.ops
    result = load_doc(doc, name="openclaw.json")
    assert sorted(_found(result, "chain.drift")) == [
        "agents.defaults.model.fallbacks[0]",
        "agents.entries.ops.model.fallbacks[0]",
    ]
    counts = Counter((p.rule, p.path) for p in result.problems)
    assert [key for key, count in counts.items() if count > 1] == []


def test_an_agent_without_a_model_or_without_primary_is_not_a_finding(load_doc: Load) -> None:
    doc = base_openclaw()
    doc["agents"]["entries"] = {
        "plain": {},
        "chain-only": {"model": {"fallbacks": ["openai/gpt-5.4-mini"]}},  # inherits primary
    }
    result = load_doc(doc, name="openclaw.json")
    assert result.problems == ()
    assert result.table is not None


def test_an_agent_routed_through_the_proxy_is_not_drift(load_doc: Load) -> None:
    """After ``install --agents`` the agent's chain is a plugin route; its model names the
    proxy (models.providers.failover), which the route table does not hold as a candidate."""
    doc = base_openclaw()
    doc["agents"]["entries"] = {
        "ops": {"model": {"primary": "failover/agent-ops", "fallbacks": []}}
    }
    doc["plugins"]["entries"]["openclaw-failover"]["config"]["routes"] = {
        "agent-ops": {"primary": "openai/gpt-5.4-mini", "fallbacks": ["gone/m1"]}
    }
    result = load_doc(doc, name="openclaw.json")
    assert _found(result, "chain.drift") == [
        "plugins.entries.openclaw-failover.config.routes.agent-ops.fallbacks[0]"
    ]


def test_an_agent_routed_to_a_route_the_proxy_lacks_is_named(load_doc: Load) -> None:
    """failover/<route> naming no route of the plugin block: every request of that agent would
    get a 404 from the proxy. A warning at the agent's path names the routes there are."""
    doc = base_openclaw()
    doc["agents"]["entries"] = {
        "ops": {"model": {"primary": "failover/agent-ops", "fallbacks": []}},
        "web": {"model": "failover/agent-web"},
    }
    doc["plugins"]["entries"]["openclaw-failover"]["config"]["routes"] = {
        "agent-web": {"primary": "openai/gpt-5.4-mini"}
    }
    result = load_doc(doc, name="openclaw.json")
    (problem,) = [p for p in result.problems if p.path == "agents.entries.ops.model.primary"]
    assert problem.rule == "chain.drift"
    assert problem.severity == "warning"
    assert "route 'agent-ops'" in problem.found
    assert "agent-web" in problem.expected
    assert "auto" in problem.expected
    assert not [p for p in result.problems if p.path.startswith("agents.entries.web")]
    assert result.table is not None
