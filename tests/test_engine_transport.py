"""OpenAICompatTransport: SSE and JSON bodies to chunks, in-stream errors, the httpx seam."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openclaw_failover._model import Candidate, Profile, Provider, Secret
from openclaw_failover._ports import MalformedEvent, TransportFailure, UpstreamCall
from openclaw_failover.providers.openai import OpenAICompatTransport, completion_chunks

KEY = "sk-test-SECRET-123"
PROVIDER = Provider("p", "openai-completions", "http://127.0.0.1:9/v1", headers={"x-org": "o"})
PROFILE = Profile("p:0", "p", Secret(KEY), "config", fingerprint="f")


def _transport(handler: Callable[[httpx.Request], httpx.Response]) -> OpenAICompatTransport:
    return OpenAICompatTransport(httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def _call(profile: Profile | None = PROFILE, **headers: str) -> UpstreamCall:
    return UpstreamCall(PROVIDER, Candidate("p", "m"), profile, {"messages": []}, headers)


async def _collect(transport: OpenAICompatTransport, call: UpstreamCall) -> list[Any]:
    async with transport.send(call) as reply:
        assert reply.status == 200
        return [item async for item in reply.chunks()]


async def test_sse_body_becomes_chunks_skipping_comments_and_done() -> None:
    """SSE events are parsed; comments are skipped; ``[DONE]`` ends; bad JSON is flagged."""
    body = (
        b": OPENROUTER PROCESSING\n\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
        b"data: {not json\n\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"b"}}]}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"after"}}]}\n\n'
    )
    transport = _transport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    items = await _collect(transport, _call())
    assert isinstance(items[1], MalformedEvent)
    contents = [i["choices"][0]["delta"]["content"] for i in items if isinstance(i, dict)]
    assert contents == ["a", "b"]


async def test_json_answer_is_converted_to_chunks() -> None:
    """A plain JSON ``chat.completion`` (upstream ignored ``stream``) arrives as chunks."""
    completion = {
        "id": "c1",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "hi",
                    "tool_calls": [
                        {
                            "id": "t1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
    transport = _transport(lambda r: httpx.Response(200, json=completion))
    items = await _collect(transport, _call())
    delta = items[0]["choices"][0]["delta"]
    assert delta["content"] == "hi"
    assert delta["tool_calls"][0]["index"] == 0
    assert items[0]["choices"][0]["finish_reason"] == "tool_calls"
    assert items[-1]["usage"] == {"prompt_tokens": 1, "completion_tokens": 1}
    assert completion_chunks({"choices": "junk"}) == []


async def test_error_event_in_stream_is_a_transport_failure_without_the_key() -> None:
    """An ``error`` object where a chunk belongs raises UpstreamStreamError, key redacted."""
    event = {"error": {"type": "overloaded_error", "message": f"bad key {KEY}"}}
    body = b"data: " + json.dumps(event).encode() + b"\n\n"
    transport = _transport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    with pytest.raises(TransportFailure) as info:
        await _collect(transport, _call())
    assert info.value.kind == "UpstreamStreamError"
    assert "overloaded_error" in info.value.detail
    assert KEY not in info.value.detail


async def test_httpx_errors_become_transport_failures_named_by_class() -> None:
    """Errors below HTTP are translated once: ``kind`` is the httpx class name."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransportFailure) as info:
        async with _transport(refuse).send(_call()):
            pass
    assert info.value.kind == "ConnectError"


async def test_request_shape_headers_and_key() -> None:
    """Model, stream and usage are set; provider and call headers pass; the key is a bearer."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key {KEY}"}})

    transport = _transport(record)
    async with transport.send(_call(traceparent="00-abc-def-01")) as reply:
        assert reply.status == 401
        excerpt = await reply.error_excerpt()
    request = seen[0]
    assert request.url.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-org"] == "o"
    assert request.headers["traceparent"] == "00-abc-def-01"
    sent = json.loads(request.content)
    assert (sent["model"], sent["stream"], sent["stream_options"]) == (
        "m",
        True,
        {"include_usage": True},
    )
    assert KEY not in excerpt


async def test_placeholder_keys_are_never_sent() -> None:
    """A dummy key such as ``ollama-local`` is a placeholder, not a credential."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": []})

    dummy = Profile("p:0", "p", Secret("ollama-local"), "dummy", "ollama-local")
    await _collect(_transport(record), _call(dummy))
    assert "authorization" not in seen[0].headers


async def test_list_models_reads_ids() -> None:
    """``list_models`` returns the ids of ``GET /models``."""

    def models(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models"
        return httpx.Response(200, json={"data": [{"id": "a"}, {"id": "b"}, {"x": 1}]})

    assert await _transport(models).list_models(PROVIDER, PROFILE) == ["a", "b"]
