"""Every rule beyond the schema: a config that trips it, and a near miss that must pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fixtures.config import base_openclaw, base_standalone

Doc = dict[str, Any]


def _chain(doc: Doc) -> Doc:
    return doc["agents"]["defaults"]["model"]


def _mp(doc: Doc) -> Doc:
    return doc["models"]["providers"]


@dataclass(frozen=True)
class Case:
    """One rule: how to break the base file, how to nearly break it, and what to expect."""

    rule: str
    path: str
    text: str
    broken: Callable[[Doc], Any]
    near: Callable[[Doc], Any]
    severity: str = "error"
    openclaw: bool = False
    env: dict[str, str] = field(default_factory=dict)
    near_env: dict[str, str] | None = None


def _set(target: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], Any]:
    return lambda d: target(d).__setitem__(key, value)


def _both(*steps: Callable[[Doc], Any]) -> Callable[[Doc], Any]:
    return lambda d: [step(d) for step in steps]


def _failover(**values: Any) -> Callable[[Doc], Any]:
    return lambda d: d["failover"].update(values)


def _plugin_block(d: Doc) -> Doc:
    return d["plugins"]["entries"]["openclaw-failover"]["config"]


def _ollama_models(d: Doc) -> None:
    _mp(d)["ollama"]["models"] = [{"id": "qwen3:8b"}]
    d["models"]["mode"] = "replace"  # the listed models are all there is


def _custom(d: Doc, **spec: Any) -> None:
    _mp(d)["custom"] = {"apiKey": "${CUSTOM_KEY}", **spec}
    _chain(d)["fallbacks"].insert(0, "custom/c-1")


def _windows(primary: int, fallback: int) -> Callable[[Doc], Any]:
    def apply(d: Doc) -> None:
        _mp(d)["anthropic"] = {"models": [{"id": "claude-opus-4-6", "contextWindow": primary}]}
        _mp(d)["openai"] = {"models": [{"id": "gpt-5.4-mini", "contextWindow": fallback}]}

    return apply


def _llamacpp(d: Doc) -> None:
    _mp(d)["llamacpp"] = {"baseUrl": "http://127.0.0.1:8080/v1"}


CASES = [
    Case(
        "chain.drift",
        "agents.defaults.model.fallbacks[0]",
        "provider 'nope' is not defined",
        broken=lambda d: _chain(d)["fallbacks"].__setitem__(0, "nope/x"),
        near=lambda d: _chain(d)["fallbacks"].__setitem__(0, "groq/llama-3.3-70b"),
        env={"GROQ_API_KEY": "gsk-FAKE"},
    ),
    Case(
        "chain.drift",
        "agents.defaults.model.fallbacks[1]",
        "not in ollama's models",
        broken=_both(
            _ollama_models, lambda d: _chain(d)["fallbacks"].__setitem__(1, "ollama/q:4b")
        ),
        near=_ollama_models,
    ),
    Case(
        "chain.drift",
        "agents.defaults.model.fallbacks[0]",
        "not in custom's models",
        broken=lambda d: _custom(d, baseUrl="https://c.example/v1", models=[{"id": "c-2"}]),
        near=_both(
            lambda d: _custom(d, baseUrl="https://c.example/v1", models=[{"id": "c-1"}]),
            # merge mode: OpenClaw adds its own catalog to a built-in provider's list
            lambda d: _mp(d).__setitem__("openai", {"models": [{"id": "gpt-4o"}]}),
        ),
        env={"CUSTOM_KEY": "c-FAKE"},
    ),
    Case(
        "provider.no-base-url",
        "models.providers.custom",
        "provider 'custom' with no baseUrl",
        broken=_custom,
        near=lambda d: _custom(d, baseUrl="https://c.example/v1"),
        env={"CUSTOM_KEY": "c-FAKE"},
    ),
    Case(
        "env.unset",
        "failover.state.namespace",
        "${NOPE_UNSET} with NOPE_UNSET unset",
        severity="warning",
        broken=_failover(state={"namespace": "ns-${NOPE_UNSET}"}),
        near=_failover(state={"namespace": "ns-$${NOPE_UNSET}"}),
    ),
    Case(
        "auth.unresolved-reference",
        "models.providers.openai.apiKey",
        "profile id 'openai:manual'",
        severity="warning",
        broken=_both(
            _set(lambda d: d["providers"], "openai", {"auth": [{"key": "${OPENAI_API_KEY}"}]}),
            _set(_mp, "openai", {"apiKey": "openai:manual"}),
        ),
        near=_both(
            _set(lambda d: d["providers"], "openai", {"auth": [{"key": "${OPENAI_API_KEY}"}]}),
            _set(_mp, "openai", {"apiKey": {"source": "env", "id": "OPENAI_API_KEY"}}),
        ),
    ),
    Case(
        "state.redis-url",
        "failover.state.url",
        'backend "redis" with no usable url',
        broken=_failover(state={"backend": "redis", "url": "${REDIS_URL_UNSET}"}),
        near=_failover(state={"backend": "redis", "url": "redis://127.0.0.1:1/0"}),
    ),
    Case(
        "auth.no-usable-key",
        "models.providers.openai.apiKey",
        "tried openai:apiKey (dummy ollama-local)",
        broken=_set(_mp, "openai", {"apiKey": "ollama-local"}),
        near=_set(_mp, "openai", {"apiKey": "${OPENAI_API_KEY}"}),
    ),
    Case(
        "chain.duplicate",
        "agents.defaults.model.fallbacks[1]",
        "'openai/gpt-5.4-mini' a second",
        broken=lambda d: _chain(d)["fallbacks"].insert(1, "openai/gpt-5.4-mini"),
        near=lambda d: _chain(d)["fallbacks"].insert(1, "openai/gpt-5.4"),
    ),
    Case(
        "chain.fallback-gap",
        "agents.defaults.model.fallback3",
        "fallback3 without fallback2",
        broken=_set(
            lambda d: d["agents"]["defaults"],
            "model",
            {
                "primary": "anthropic/claude-opus-4-6",
                "fallback": "openai/gpt-5.4-mini",
                "fallback3": "ollama/qwen3:8b",
            },
        ),
        near=_set(
            lambda d: d["agents"]["defaults"],
            "model",
            {
                "primary": "anthropic/claude-opus-4-6",
                "fallback": "openai/gpt-5.4-mini",
                "fallback2": "ollama/qwen3:8b",
            },
        ),
    ),
    Case(
        "chain.mixed-fallbacks",
        "agents.defaults.model.fallback2",
        "both fallbacks[] and",
        broken=_set(_chain, "fallback2", "groq/llama-3.3-70b"),
        near=_set(
            lambda d: d["agents"]["defaults"],
            "model",
            {
                "primary": "anthropic/claude-opus-4-6",
                "fallback": "openai/gpt-5.4-mini",
                "fallback2": "ollama/qwen3:8b",
            },
        ),
    ),
    Case(
        "chain.invalid",
        "agents.defaults.model.fallbacks[0]",
        "'mini'",
        broken=lambda d: _chain(d)["fallbacks"].__setitem__(0, "mini"),
        near=_both(
            lambda d: _chain(d)["fallbacks"].__setitem__(0, "mini"),
            lambda d: d["agents"]["defaults"].__setitem__(
                "models", {"openai/gpt-5.4-mini": {"alias": "mini"}}
            ),
        ),
    ),
    Case(
        "chain.banned",
        "agents.defaults.model.fallbacks[0]",
        "which bannedModels lists",
        broken=_failover(bannedModels=["openai/gpt-5.4-mini"]),
        near=_failover(bannedModels=["openai/gpt-4o"]),
    ),
    Case(
        "chain.capability-downgrade",
        "agents.defaults.model.fallbacks[0]",
        "context window 8000 < 200000",
        severity="warning",
        broken=_windows(200000, 8000),
        near=_windows(200000, 200000),
    ),
    Case(
        "chain.local-order",
        "agents.defaults.model.fallbacks[0]",
        "local-tier model before",
        severity="warning",
        broken=_set(_chain, "fallbacks", ["ollama/qwen3:8b", "openai/gpt-5.4-mini"]),
        near=_set(_chain, "fallbacks", ["openai/gpt-5.4-mini", "ollama/qwen3:8b"]),
    ),
    Case(
        "chain.self-loop",
        "models.providers.me.baseUrl",
        "is the failover proxy itself",
        broken=_both(
            _set(_mp, "me", {"baseUrl": "http://localhost:8787/v1", "apiKey": "${ME_KEY}"}),
            lambda d: _chain(d)["fallbacks"].insert(0, "me/auto"),
        ),
        near=_both(
            _set(_mp, "me", {"baseUrl": "http://localhost:8788/v1", "apiKey": "${ME_KEY}"}),
            lambda d: _chain(d)["fallbacks"].insert(0, "me/auto"),
        ),
        env={"ME_KEY": "me-FAKE"},
    ),
    Case(
        "auth.duplicate-profile",
        "providers.anthropic.auth[1].profile",
        "'anthropic:team' a second",
        broken=lambda d: d["providers"]["anthropic"]["auth"][1].__setitem__("profile", "team"),
        near=_set(
            lambda d: d["providers"],
            "openai",
            {"auth": [{"key": "${OPENAI_API_KEY}", "profile": "team"}]},
        ),
    ),
    Case(
        "auth.no-usable-key",
        "providers.openai",
        "no usable key for 'openai'",
        broken=lambda d: None,
        near=lambda d: None,
        env={"OPENAI_API_KEY": ""},
        near_env={"OPENAI_API_KEY": "", "OPENAI_API_KEYS": "a;b"},
    ),
    Case(
        "auth.no-usable-key",
        "providers.anthropic.auth",
        "no usable key for 'anthropic'",
        broken=lambda d: d["providers"]["anthropic"]["auth"].__setitem__(
            slice(None), [{"key": "${UNSET_ONE}"}]
        ),
        near=_both(
            lambda d: d["providers"]["anthropic"]["auth"].__setitem__(
                slice(None), [{"key": "${UNSET_ONE}"}]
            ),
            _set(lambda d: d, "env", {"vars": {"UNSET_ONE": "from-env-vars"}}),
        ),
    ),
    Case(
        "secret.plaintext",
        "providers.anthropic.auth[0].key",
        "a key written inline",
        severity="warning",
        broken=lambda d: d["providers"]["anthropic"]["auth"][0].__setitem__(
            "key", "sk-ant-FAKE-inline-5Tg"
        ),
        near=lambda d: d["providers"]["anthropic"]["auth"][0].__setitem__(
            "key", "sk-${ANTHROPIC_API_KEY}"
        ),
    ),
    Case(
        "local.remote-url",
        "models.providers.ollama.baseUrl",
        "off this machine",
        broken=lambda d: _mp(d)["ollama"].__setitem__("baseUrl", "http://10.1.2.3:11434"),
        near=lambda d: _mp(d)["ollama"].__setitem__("baseUrl", "http://[::1]:11434"),
    ),
    Case(
        "local.remote-url",
        "models.providers.ollama.baseUrl",
        "'http://gpu-box:11434'",
        broken=lambda d: _mp(d)["ollama"].__setitem__("baseUrl", "http://gpu-box:11434"),
        near=_both(
            lambda d: _mp(d)["ollama"].__setitem__("baseUrl", "http://gpu-box:11434"),
            _failover(allowRemoteLocal=True),
        ),
    ),
    Case(
        "ollama.v1-path",
        "models.providers.ollama.baseUrl",
        "breaks tool calls",
        severity="warning",
        broken=lambda d: _mp(d)["ollama"].__setitem__("baseUrl", "http://127.0.0.1:11434/v1"),
        near=lambda d: _mp(d)["ollama"].__setitem__("baseUrl", "http://127.0.0.1:11434/v1x/"),
    ),
    Case(
        "provider.unknown-api",
        "models.providers.openai.api",
        "api 'openai-chat'",
        broken=_set(_mp, "openai", {"api": "openai-chat"}),
        near=_set(_mp, "openai", {"api": "openai-completions"}),
    ),
    Case(
        "provider.unsupported-api",
        "models.providers.openai.api",
        "cannot speak",
        broken=_set(_mp, "openai", {"api": "bedrock-converse-stream"}),
        near=_both(
            _set(_mp, "openai", {"api": "bedrock-converse-stream"}), _failover(mode="plugin")
        ),
    ),
    Case(
        "provider.conflict",
        "providers.ollama.baseUrl",
        "in models.providers.ollama.baseUrl",
        broken=_set(lambda d: d["providers"], "ollama", {"baseUrl": "http://127.0.0.1:11435"}),
        near=_set(lambda d: d["providers"], "ollama", {"baseUrl": "http://127.0.0.1:11434"}),
    ),
    Case(
        "standalone.duplicate-key",
        "failover.model",
        "model both here and at",
        broken=_failover(model={"primary": "openai/gpt-5.4-mini"}),
        near=_both(
            _failover(model=None),
            lambda d: d["failover"].__setitem__("model", _chain(d)),
            lambda d: d.pop("agents"),
        ),
    ),
    Case(
        "local.no-model",
        "failover.tiers.local[0]",
        "local tier 'llamacpp' with no model",
        broken=_both(_llamacpp, _failover(tiers={"local": ["llamacpp"]})),
        near=_both(
            _llamacpp,
            _failover(tiers={"local": ["llamacpp"]}),
            lambda d: _chain(d)["fallbacks"].append("llamacpp/smollm2"),
        ),
    ),
    Case(
        "deadlines.contradiction",
        "failover.deadlines.interactiveFirstTokenS",
        "interactiveFirstTokenS 200 s beyond intentBudgetS 150 s",
        broken=_failover(deadlines={"interactiveFirstTokenS": 200, "batchFirstTokenS": 200}),
        near=_failover(deadlines={"interactiveFirstTokenS": 150, "batchFirstTokenS": 150}),
    ),
    Case(
        "deadlines.contradiction",
        "failover.deadlines.interactiveFirstTokenS",
        "interactive 100 s longer than batch 90 s",
        broken=_failover(deadlines={"interactiveFirstTokenS": 100}),
        near=_failover(deadlines={"interactiveFirstTokenS": 90}),
    ),
]

OPENCLAW_CASES = [
    Case(
        "openclaw.root-providers",
        "providers",
        "OpenClaw 2026.9.6 refuses to start",
        openclaw=True,
        broken=lambda d: d.__setitem__("providers", _plugin_block(d).pop("providers")),
        near=lambda d: None,
    ),
    Case(
        "openclaw.fallback-keys",
        "agents.defaults.model.fallback2",
        "refuses to start",
        openclaw=True,
        broken=_set(
            lambda d: d["agents"]["defaults"],
            "model",
            {
                "primary": "anthropic/claude-opus-4-6",
                "fallback": "openai/gpt-5.4-mini",
                "fallback2": "ollama/qwen3:8b",
            },
        ),
        near=_set(
            _plugin_block,
            "model",
            {
                "primary": "anthropic/claude-opus-4-6",
                "fallback": "openai/gpt-5.4-mini",
                "fallback2": "ollama/qwen3:8b",
            },
        ),
    ),
    Case(
        "openclaw.fallback-keys",
        "agents.entries.ops.model.fallback",
        "refuses to start",
        openclaw=True,
        broken=_set(
            lambda d: d["agents"],
            "entries",
            {"ops": {"model": {"primary": "openai/gpt-5.4-mini", "fallback": "ollama/qwen3:8b"}}},
        ),
        near=_set(
            lambda d: d["agents"],
            "entries",
            {
                "ops": {
                    "model": {"primary": "openai/gpt-5.4-mini", "fallbacks": ["ollama/qwen3:8b"]}
                }
            },
        ),
    ),
    Case(
        "deadlines.provider-timeout",
        "models.providers.failover.timeoutSeconds",
        "timeoutSeconds 150 not above intentBudgetS 150",
        openclaw=True,
        broken=_set(
            _mp, "failover", {"baseUrl": "http://127.0.0.1:8787/v1", "timeoutSeconds": 150}
        ),
        near=_set(_mp, "failover", {"baseUrl": "http://127.0.0.1:8787/v1", "timeoutSeconds": 180}),
    ),
]

ALL = CASES + OPENCLAW_CASES


def _load(load_doc, case: Case, *, near: bool):
    doc = base_openclaw() if case.openclaw else base_standalone()
    (case.near if near else case.broken)(doc)
    name = "openclaw.json" if case.openclaw else "failover.json5"
    env = case.near_env if near and case.near_env is not None else case.env
    return load_doc(doc, name=name, env=env)


def _ids(cases: list[Case]) -> list[str]:
    return [f"{c.rule}:{c.path}" for c in cases]


@pytest.mark.parametrize("case", ALL, ids=_ids(ALL))
def test_rule_fires(load_doc, case: Case):
    """The broken config reports the rule at its JSON path with a message saying what was found."""
    result = _load(load_doc, case, near=False)
    found = [p for p in result.problems if p.rule == case.rule and p.path == case.path]
    assert found, [(p.rule, p.path, p.message) for p in result.problems]
    problem = found[0]
    assert problem.severity == case.severity
    assert case.text in problem.message
    assert problem.expected
    assert problem.fix
    assert (result.table is None) == (case.severity == "error")


@pytest.mark.parametrize("case", ALL, ids=_ids(ALL))
def test_near_miss_passes(load_doc, case: Case):
    """The near-miss config is clean: no finding at all, and a table."""
    result = _load(load_doc, case, near=True)
    assert result.problems == (), [(p.rule, p.path, p.message) for p in result.problems]
    assert result.table is not None


def test_all_problems_at_once(load_doc):
    """Several broken rules are all reported in one load, not the first only."""
    doc = base_standalone()
    _chain(doc)["fallbacks"] = ["nope/x", "openai/gpt-5.4-mini", "openai/gpt-5.4-mini", "ollama/q"]
    _mp(doc)["ollama"]["baseUrl"] = "http://10.0.0.1:11434"
    doc["failover"] = {"bannedModels": ["openai/gpt-5.4-mini"]}
    rules = {p.rule for p in load_doc(doc).problems}
    assert {"chain.drift", "chain.duplicate", "local.remote-url", "chain.banned"} <= rules


def test_url_credentials_never_shown(load_doc):
    """A base URL with user:password@ is shown with the credentials masked."""
    doc = base_standalone()
    _mp(doc)["ollama"]["baseUrl"] = "http://admin:hunter2-FAKE@10.0.0.9:11434/v1"
    problems = load_doc(doc).problems
    assert {p.rule for p in problems} == {"local.remote-url", "ollama.v1-path"}
    assert all("hunter2-FAKE" not in p.message for p in problems)
    assert any("***@10.0.0.9:11434" in p.message for p in problems)


def test_every_emitted_rule_id_is_registered():
    """Each literal rule id in the config package is listed, with a meaning, in RULE_IDS."""
    import ast
    from pathlib import Path

    from openclaw_failover.config._rules import RULE_IDS

    package = Path(__file__).resolve().parents[1] / "openclaw_failover" / "config"
    emitted = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            name = getattr(node, "func", None)
            called = getattr(name, "id", "") or getattr(name, "attr", "")
            if isinstance(node, ast.Call) and called in {"Problem", "problem"}:
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    emitted.add(first.value)
    assert emitted
    assert emitted == set(RULE_IDS)
    assert {case.rule for case in ALL} <= set(RULE_IDS)
