"""A config file's cross-vendor chain, loaded by the config loader, runs on the adapters: the
shipped example's shape (anthropic -> openai -> openrouter -> ollama) with base URLs pointed at
the fakes, keys from the environment, and the Ollama placeholder key never sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openclaw_failover._engine import FailoverEngine
from openclaw_failover._exchange import ChatRequest
from openclaw_failover.config import require_route_table
from openclaw_failover.providers import build_transports
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.testing import (
    Answer,
    CapturingAuditSink,
    FakeAnthropicServer,
    FakeClock,
    FakeOllamaServer,
    FakeOpenAIServer,
    HttpError,
    Ok,
    tool_reply,
)

CONFIG = """{
  agents: { defaults: { model: {
    primary: "anthropic/claude-opus-4-6",
    fallback: "openai/gpt-5.4-mini",
    fallback2: "openrouter/meta-llama/llama-3.3-70b-instruct",
    fallback3: "ollama/qwen3:8b",
  } } },
  providers: {
    anthropic: { auth: [{ key: "${ANTHROPIC_API_KEY}", profile: "team" },
                        { key: "${ANTHROPIC_API_KEY_2}", profile: "backup" }] },
    openai: { auth: [{ key: "${OPENAI_API_KEY}" }] },
    openrouter: { auth: [{ key: "${OPENROUTER_API_KEY}" }] },
  },
  models: { providers: {
    anthropic: { api: "anthropic-messages", baseUrl: "ANTHROPIC_URL" },
    openai: { api: "openai-completions", baseUrl: "OPENAI_URL" },
    openrouter: { api: "openai-completions", baseUrl: "OPENROUTER_URL" },
    ollama: { api: "ollama", baseUrl: "OLLAMA_URL", apiKey: "ollama-local",
              models: [{ id: "qwen3:8b", contextWindow: 32768, maxTokens: 8192 }] },
  } },
  failover: { state: { backend: "memory" } },
}
"""
ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-team-0001",
    "ANTHROPIC_API_KEY_2": "sk-ant-backup-0002",
    "OPENAI_API_KEY": "sk-openai-0003",
    "OPENROUTER_API_KEY": "sk-or-0004",
}


@pytest.fixture
def servers() -> Iterator[dict[str, FakeOpenAIServer | FakeAnthropicServer | FakeOllamaServer]]:
    """One fake per provider of the example chain."""
    with (
        FakeAnthropicServer(models=["claude-opus-4-6"]) as anthropic,
        FakeOpenAIServer(models=["gpt-5.4-mini"]) as openai,
        FakeOpenAIServer(models=["meta-llama/llama-3.3-70b-instruct"]) as openrouter,
        FakeOllamaServer(models=["qwen3:8b"]) as ollama,
    ):
        yield {"anthropic": anthropic, "openai": openai, "openrouter": openrouter, "ollama": ollama}


def _config(
    tmp_path: Path, servers: dict[str, FakeOpenAIServer | FakeAnthropicServer | FakeOllamaServer]
) -> Path:
    text = CONFIG
    for name, server in servers.items():
        text = text.replace(f"{name.upper()}_URL", server.url)
    path = tmp_path / "failover.json5"
    path.write_text(text, encoding="utf-8")
    return path


async def test_example_chain_walks_anthropic_keys_then_vendors_down_to_ollama(
    tmp_path: Path, servers: dict[str, FakeOpenAIServer | FakeAnthropicServer | FakeOllamaServer]
) -> None:
    """Both Anthropic keys are rejected (401 rotates keys), OpenAI and OpenRouter are down, and
    Ollama answers with a tool call in OpenAI shape; every upstream got its own key style."""
    servers["anthropic"].always(HttpError(401))
    servers["openai"].always(HttpError(503))
    servers["openrouter"].always(HttpError(502))
    servers["ollama"].always(tool_reply("get_weather", {"city": "Paris"}))
    table = require_route_table(_config(tmp_path, servers), environ={**ENV, "HOME": str(tmp_path)})
    body = {"messages": [{"role": "user", "content": "weather?"}]}
    async with httpx.AsyncClient(timeout=10) as client:
        engine = FailoverEngine(
            table,
            transports=build_transports(client),
            store=MemoryStateStore(),
            audit=CapturingAuditSink(),
            clock=FakeClock(),
        )
        meta, completion = await engine.complete(ChatRequest(body=body))
    assert (meta.provider, meta.tier) == ("ollama", "local")
    call = completion["choices"][0]["message"]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert servers["anthropic"].keys_seen()[:2] == ["sk-ant-team-0001", "sk-ant-backup-0002"]
    assert servers["openai"].keys_seen()[0] == "sk-openai-0003"
    assert servers["openrouter"].keys_seen()[0] == "sk-or-0004"
    ollama_headers = servers["ollama"].chat_requests[0].headers
    assert "authorization" not in ollama_headers  # "ollama-local" is a placeholder, not a key


async def test_example_chain_answers_from_anthropic_when_it_is_healthy(
    tmp_path: Path, servers: dict[str, FakeOpenAIServer | FakeAnthropicServer | FakeOllamaServer]
) -> None:
    """With a healthy primary, the Anthropic fake answers and nobody else is asked."""
    servers["anthropic"].always(Ok(Answer(text="Primary here.")))
    table = require_route_table(_config(tmp_path, servers), environ={**ENV, "HOME": str(tmp_path)})
    async with httpx.AsyncClient(timeout=10) as client:
        engine = FailoverEngine(
            table,
            transports=build_transports(client),
            store=MemoryStateStore(),
            audit=CapturingAuditSink(),
            clock=FakeClock(),
        )
        meta, completion = await engine.complete(
            ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
        )
    assert (meta.provider, meta.profile, meta.downgraded) == ("anthropic", "anthropic:team", False)
    assert completion["choices"][0]["message"]["content"] == "Primary here."
    assert not servers["openai"].chat_requests
    assert not servers["ollama"].chat_requests
