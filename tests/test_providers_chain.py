"""Cross-vendor chains through the engine: an OpenAI-shaped request fails over from a failing
OpenAI fake to the Anthropic fake, and from there to the Ollama fake, and every answer comes
back in OpenAI shape (tool-call arguments as JSON strings)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from openclaw_failover._engine import FailoverEngine
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import (
    Candidate,
    Profile,
    Provider,
    Route,
    RouteTable,
    Secret,
    Tier,
)
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
    SilentAfterPreamble,
    ToolCall,
)
from tests.fixtures.engine import Tap, advance_to_deadline, eventually

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
BODY: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are a helpful agent."},
        {"role": "user", "content": "What is the weather in Paris?"},
    ],
    "tools": [WEATHER_TOOL],
    "max_tokens": 64,
}


@dataclass
class Fakes:
    openai: FakeOpenAIServer
    anthropic: FakeAnthropicServer
    ollama: FakeOllamaServer


@contextmanager
def running_fakes() -> Iterator[Fakes]:
    """The OpenAI, Anthropic and Ollama fakes on loopback."""
    with (
        FakeOpenAIServer(models=["gpt-fake"]) as openai,
        FakeAnthropicServer(models=["claude-fake"]) as anthropic,
        FakeOllamaServer(models=["qwen3:8b"]) as ollama,
    ):
        yield Fakes(openai, anthropic, ollama)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    """The three fakes for one test."""
    with running_fakes() as running:
        yield running


def _profile(provider: str, key: str) -> tuple[Profile, ...]:
    return (Profile(id=f"{provider}:0", provider=provider, secret=Secret(key), source="config"),)


def chain_table(fakes: Fakes) -> RouteTable:
    """openai/gpt-fake -> anthropic/claude-fake -> ollama/qwen3:8b (local)."""
    providers = {
        "openai": Provider(
            "openai", "openai-completions", fakes.openai.url, _profile("openai", "sk-oa")
        ),
        "anthropic": Provider(
            "anthropic", "anthropic-messages", fakes.anthropic.url, _profile("anthropic", "sk-ant")
        ),
        "ollama": Provider("ollama", "ollama", fakes.ollama.url),
    }
    candidates = (
        Candidate("openai", "gpt-fake"),
        Candidate("anthropic", "claude-fake"),
        Candidate("ollama", "qwen3:8b", Tier.LOCAL),
    )
    return RouteTable(routes={"auto": Route("auto", candidates)}, providers=providers, version="t1")


async def _engine(table: RouteTable, client: httpx.AsyncClient) -> FailoverEngine:
    return FailoverEngine(
        table,
        transports=build_transports(client),
        store=MemoryStateStore(),
        audit=CapturingAuditSink(),
        clock=FakeClock(),
    )


async def _stream(engine: FailoverEngine, body: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    answer = await engine.open(ChatRequest(body=body, stream=True))
    try:
        chunks = [chunk async for chunk in answer]
    finally:
        await answer.aclose()
    return answer.meta, chunks


def _tool_arguments(chunks: list[dict[str, Any]]) -> dict[int, str]:
    args: dict[int, str] = {}
    for c in chunks:
        for choice in c.get("choices") or ():
            for call in choice.get("delta", {}).get("tool_calls") or ():
                fn = call.get("function") or {}
                args[call["index"]] = args.get(call["index"], "") + (fn.get("arguments") or "")
    return args


async def test_failing_openai_falls_over_to_anthropic(fakes: Fakes) -> None:
    """A 500-ing OpenAI primary hands the OpenAI-shaped request to the Anthropic fake, whose
    answer comes back as an OpenAI ``chat.completion`` with the system prompt carried over."""
    fakes.openai.always(HttpError(500))
    fakes.anthropic.always(Ok(Answer(text="It is sunny in Paris.")))
    async with httpx.AsyncClient(timeout=10) as client:
        engine = await _engine(chain_table(fakes), client)
        meta, body = await engine.complete(ChatRequest(body=BODY))
    assert meta.provider == "anthropic"
    assert meta.downgraded is True
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "It is sunny in Paris."
    sent = fakes.anthropic.chat_requests[0]
    assert sent.headers["x-api-key"] == "sk-ant"
    assert sent.json["system"] == "You are a helpful agent."
    assert sent.json["tools"][0]["name"] == "get_weather"
    assert fakes.openai.chat_requests, "the primary was tried first"


async def test_failing_anthropic_falls_over_to_ollama_tool_call(fakes: Fakes) -> None:
    """With OpenAI and Anthropic failing, the Ollama fake answers with a tool call that comes
    back in OpenAI shape: an id, the function name and arguments as a JSON string."""
    fakes.openai.always(HttpError(500))
    fakes.anthropic.always(HttpError(529))
    call = ToolCall("get_weather", {"city": "Paris"}, "ignored-by-ollama")
    fakes.ollama.always(Ok(Answer(text="", pieces=(), tool_calls=(call,))))
    async with httpx.AsyncClient(timeout=10) as client:
        engine = await _engine(chain_table(fakes), client)
        meta, chunks = await _stream(engine, BODY)
        _, body = await engine.complete(ChatRequest(body=BODY))
    assert meta.provider == "ollama"
    assert meta.tier == "local"
    arguments = _tool_arguments(chunks)[0]
    assert isinstance(arguments, str)
    assert json.loads(arguments) == {"city": "Paris"}
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
    assert finish[-1] == "tool_calls"
    calls = body["choices"][0]["message"]["tool_calls"]
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}
    assert fakes.anthropic.chat_requests, "anthropic was tried before the local tier"
    assert fakes.ollama.chat_requests[0].json["tools"][0]["function"]["name"] == "get_weather"


async def test_empty_anthropic_answer_fails_over(fakes: Fakes) -> None:
    """A 200 from Anthropic with no content and no tool call is empty_response: the Ollama fake
    answers instead."""
    fakes.openai.always(HttpError(500))
    fakes.anthropic.always(Ok(Answer(text="", pieces=())))
    fakes.ollama.always(Ok(Answer(text="Local answer.")))
    async with httpx.AsyncClient(timeout=10) as client:
        engine = await _engine(chain_table(fakes), client)
        meta, body = await engine.complete(ChatRequest(body=BODY))
    assert meta.provider == "ollama"
    assert body["choices"][0]["message"]["content"] == "Local answer."
    reasons = [a.reason for a in meta.attempt_log]
    assert "empty_response" in reasons


async def test_silent_anthropic_after_message_start_times_out_to_ollama(fakes: Fakes) -> None:
    """Anthropic's message_start (a role chunk) is not a first token: an upstream that sends it
    and then nothing is abandoned at the first-token deadline, and Ollama answers (the
    deadline runs on the FakeClock, which the test moves there)."""
    fakes.openai.always(HttpError(500))
    fakes.anthropic.always(SilentAfterPreamble(limit_s=5.0))
    fakes.ollama.always(Ok(Answer(text="Local answer.")))
    request = ChatRequest(body=BODY, first_token_deadline_s=0.5)
    clock = FakeClock()
    async with httpx.AsyncClient(timeout=10) as client:
        transports = dict(build_transports(client))
        tap = Tap(transports["anthropic-messages"])
        transports["anthropic-messages"] = tap
        engine = FailoverEngine(
            chain_table(fakes),
            transports=transports,
            store=MemoryStateStore(),
            audit=CapturingAuditSink(),
            clock=clock,
            jitter=lambda low, high: 0.25,  # the 500's one retry waits 0.25 virtual s
        )
        task = asyncio.create_task(engine.complete(request))
        await eventually(lambda: len(tap.chunks_seen()) == 1)  # message_start, as a role chunk
        await advance_to_deadline(clock, 0.75, task=task)  # 0.25 s backoff, then 0.5 s
        meta, body = await asyncio.wait_for(task, 5)  # a guard against a hang, not a timing
    assert meta.provider == "ollama"
    assert body["choices"][0]["message"]["content"] == "Local answer."
    assert "timeout" in [a.reason for a in meta.attempt_log]
    assert clock.monotonic() == 0.75


async def test_local_ollama_tier_is_offered_no_high_risk_tools(fakes: Fakes) -> None:
    """When the chain reaches Ollama (local tier), ``exec`` is stripped from the tools it sees;
    the harmless tool stays and the answer says what was blocked."""
    exec_tool = {
        "type": "function",
        "function": {"name": "exec", "parameters": {"type": "object", "properties": {}}},
    }
    fakes.openai.always(HttpError(500))
    fakes.anthropic.always(HttpError(529))
    fakes.ollama.always(Ok(Answer(text="Local answer.")))
    body = {**BODY, "tools": [WEATHER_TOOL, exec_tool]}
    async with httpx.AsyncClient(timeout=10) as client:
        engine = await _engine(chain_table(fakes), client)
        meta, _ = await engine.complete(ChatRequest(body=body))
    offered = [t["function"]["name"] for t in fakes.ollama.chat_requests[0].json["tools"]]
    assert offered == ["get_weather"]
    assert "exec" in meta.tools_blocked
    anthropic_offered = [t["name"] for t in fakes.anthropic.chat_requests[0].json["tools"]]
    assert "exec" in anthropic_offered  # the cloud tier keeps every tool
