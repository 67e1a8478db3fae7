"""The built-in provider catalog: well-known providers need no baseUrl, api or key name."""

from __future__ import annotations

import httpx
import pytest

from openclaw_failover.providers import SUPPORTED_APIS, build_transports
from tests.fixtures.config import FAKE_KEYS, base_standalone

#: (provider, base URL from the provider's own API docs, wire api, key variable OpenClaw reads)
CATALOG = [
    ("anthropic", "https://api.anthropic.com", "anthropic-messages", "ANTHROPIC_API_KEY"),
    ("openai", "https://api.openai.com/v1", "openai-completions", "OPENAI_API_KEY"),
    ("openrouter", "https://openrouter.ai/api/v1", "openai-completions", "OPENROUTER_API_KEY"),
    ("groq", "https://api.groq.com/openai/v1", "openai-completions", "GROQ_API_KEY"),
    ("mistral", "https://api.mistral.ai/v1", "openai-completions", "MISTRAL_API_KEY"),
    (
        "google",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "openai-completions",
        "GEMINI_API_KEY",
    ),
    (
        "google-openai-compat",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "openai-completions",
        "GEMINI_API_KEY",
    ),
]


def _chain_of(doc: dict, *refs: str) -> dict:
    doc["agents"]["defaults"]["model"] = {"primary": refs[0], "fallbacks": list(refs[1:])}
    return doc


@pytest.mark.parametrize(("provider", "url", "api", "var"), CATALOG, ids=[c[0] for c in CATALOG])
def test_known_provider_needs_only_its_key(load_doc, provider, url, api, var):
    """A chain naming a catalog provider loads clean with the catalog's URL, api and key name."""
    doc = _chain_of(base_standalone(), f"{provider}/some-model", "ollama/qwen3:8b")
    del doc["providers"]
    env = {**dict.fromkeys(FAKE_KEYS, ""), var: f"{provider}-FAKE-key"}
    result = load_doc(doc, env=env)
    assert result.problems == (), [(p.rule, p.path, p.message) for p in result.problems]
    found = result.table.providers[provider]
    assert (found.base_url, found.api) == (url, api)
    assert [(p.source_name, p.secret.reveal()) for p in found.profiles] == [
        (var, f"{provider}-FAKE-key")
    ]


def test_ollama_defaults_to_the_native_loopback_api(load_doc):
    """ollama with no models.providers entry is the native API on 127.0.0.1:11434, local tier."""
    doc = base_standalone()
    del doc["models"]["providers"]["ollama"]
    result = load_doc(doc)
    assert result.problems == (), [(p.rule, p.path, p.message) for p in result.problems]
    ollama = result.table.providers["ollama"]
    assert (ollama.base_url, ollama.api) == ("http://127.0.0.1:11434", "ollama")
    assert result.table.route("auto").candidates[-1].tier.value == "local"


async def test_every_catalog_api_has_a_transport():
    """The proxy can speak every api the catalog assigns (one transport per supported api)."""
    async with httpx.AsyncClient() as client:
        transports = build_transports(client)
    assert {api for _, _, api, _ in CATALOG} | {"ollama"} <= set(transports) == SUPPORTED_APIS


@pytest.mark.parametrize("api", ["github-copilot", "google-generative-ai"])
def test_api_the_proxy_cannot_speak_is_a_clear_error(load_doc, api):
    """A candidate on an api the proxy cannot speak is provider.unsupported-api at its path."""
    doc = _chain_of(base_standalone(), "anthropic/claude-opus-4-6", "other/m")
    doc["models"]["providers"]["other"] = {
        "baseUrl": "https://other.invalid/v1",
        "api": api,
        "apiKey": "${OTHER_KEY}",
    }
    result = load_doc(doc, env={"OTHER_KEY": "o-FAKE"})
    (problem,) = result.problems
    assert (problem.rule, problem.path) == (
        "provider.unsupported-api",
        "models.providers.other.api",
    )
    assert f"api {api!r}, which the failover proxy cannot speak" in problem.message
    assert "OpenAI-compatible endpoint" in problem.fix
    assert result.table is None
    doc["models"]["providers"]["other"]["api"] = "openai-completions"  # the near miss
    assert load_doc(doc, env={"OTHER_KEY": "o-FAKE"}).problems == ()
