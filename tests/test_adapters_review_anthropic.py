"""Review findings in the Anthropic Messages adapter: each test failed on the code before its fix.

Event shapes follow Anthropic's API reference, "Streaming Messages".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from openclaw_failover._classify import classify_outcome
from openclaw_failover._model import Candidate, FailureReason, ModelSpec, Profile, Provider, Secret
from openclaw_failover._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from openclaw_failover.providers._translate_anthropic import anthropic_request
from openclaw_failover.providers._translate_anthropic_stream import (
    AnthropicStreamState,
    anthropic_event_chunks,
)
from openclaw_failover.providers.anthropic import AnthropicTransport

MESSAGE_START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-6",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    },
}
TEXT_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}


def _text_delta(text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }


def _message_delta(stop_reason: str) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": 7},
    }


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _call(provider_headers: dict[str, str] | None = None) -> UpstreamCall:
    provider = Provider(
        id="anthropic",
        api="anthropic-messages",
        base_url="https://anthropic.invalid",
        headers=provider_headers or {},
        models={"claude-opus-4-6": ModelSpec(id="claude-opus-4-6", max_tokens=2048)},
    )
    profile = Profile(
        id="anthropic:team", provider="anthropic", secret=Secret("sk-ant-test-123"), source="config"
    )
    return UpstreamCall(
        provider=provider,
        candidate=Candidate("anthropic", "claude-opus-4-6"),
        profile=profile,
        body={"messages": [{"role": "user", "content": "hi"}]},
        headers={},
    )


@asynccontextmanager
async def _reply(
    handler: Callable[[httpx.Request], httpx.Response], call: UpstreamCall
) -> AsyncIterator[UpstreamReply]:
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client,
        AnthropicTransport(client).send(call) as reply,
    ):
        yield reply


def _streaming(body: bytes) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return handler


async def _chunks(body: bytes) -> list[dict[str, Any]]:
    async with _reply(_streaming(body), _call()) as reply:
        return [c async for c in reply.chunks() if isinstance(c, dict)]


async def test_a_stream_cut_before_message_delta_is_a_failure_not_a_stop() -> None:
    """A 200 body that ends mid-answer (no message_delta, no message_stop) raises a
    TransportFailure classified server_error, instead of a synthesised finish_reason "stop"."""
    body = _sse([MESSAGE_START, TEXT_START, _text_delta("The answer is")])
    with pytest.raises(TransportFailure) as info:
        await _chunks(body)
    classified = classify_outcome(
        status=None, headers={}, body_excerpt="", transport_error=info.value, provider="anthropic"
    )
    assert classified.reason is FailureReason.SERVER_ERROR


async def test_a_stream_with_its_stop_reason_but_no_message_stop_still_finishes() -> None:
    """A stream whose message_delta arrived is complete: without message_stop it still ends
    with its finish and usage chunks (the design's "complete stream without [DONE]")."""
    body = _sse([MESSAGE_START, TEXT_START, _text_delta("Done."), _message_delta("end_turn")])
    chunks = await _chunks(body)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 7


def _arguments(events: list[dict[str, Any]]) -> dict[int, str]:
    state = AnthropicStreamState()
    found: dict[int, str] = {}
    for event in events:
        for chunk in anthropic_event_chunks(state, str(event["type"]), event):
            for choice in chunk["choices"]:
                for call in choice["delta"].get("tool_calls", ()):
                    found[call["index"]] = found.get(call["index"], "") + call["function"].get(
                        "arguments", ""
                    )
    return found


def _tool_start(index: int, name: str) -> dict[str, Any]:
    block = {"type": "tool_use", "id": f"toolu_{index}", "name": name, "input": {}}
    return {"type": "content_block_start", "index": index, "content_block": block}


def test_a_streamed_tool_call_without_parameters_gets_empty_object_arguments() -> None:
    """A tool_use with no input (no input_json_delta, or only an empty one) streams its
    arguments as ``"{}"``, as OpenAI does and the whole-message path did; ``""`` is not JSON."""
    empty = {"type": "input_json_delta", "partial_json": ""}
    events = [
        MESSAGE_START,
        _tool_start(0, "get_time"),
        {"type": "content_block_delta", "index": 0, "delta": empty},
        {"type": "content_block_stop", "index": 0},
        _tool_start(1, "get_weather"),
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": "Oslo"}'},
        },
        {"type": "content_block_stop", "index": 1},
        _tool_start(2, "get_date"),  # never stopped: the message ends with it open
        _message_delta("tool_use"),
        {"type": "message_stop"},
    ]
    found = _arguments(events)
    assert {slot: json.loads(text) for slot, text in found.items()} == {
        0: {},
        1: {"city": "Oslo"},
        2: {},
    }


async def test_configured_headers_in_any_case_are_not_sent_twice() -> None:
    """Provider headers spelt ``Anthropic-Version`` / ``X-Api-Key`` merge with ours by name,
    case-insensitively: one version header (the configured one), one key (the profile's)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = _sse([MESSAGE_START, TEXT_START, _text_delta("ok"), _message_delta("end_turn")])
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    configured = {"Anthropic-Version": "2099-01-01", "X-Api-Key": "sk-ant-stale", "X-Team": "a"}
    async with _reply(handler, _call(configured)) as reply:
        _ = [c async for c in reply.chunks()]
    headers = seen[0].headers
    assert headers.get_list("anthropic-version") == ["2099-01-01"]
    assert headers.get_list("x-api-key") == ["sk-ant-test-123"]
    assert headers["x-team"] == "a"


async def test_an_event_with_a_field_of_the_wrong_type_is_skipped_as_malformed() -> None:
    """An event whose index is null or whose delta is not an object is a MalformedEvent
    (skipped, audited), like broken JSON; it raised TypeError / AttributeError, which no
    layer above expects (the request died instead of failing over or going on)."""
    odd_index = {"type": "content_block_delta", "index": None, "delta": {"type": "text_delta"}}
    odd_delta = {"type": "content_block_delta", "index": 0, "delta": "text"}
    events = [MESSAGE_START, TEXT_START, odd_index, _text_delta("Hi"), odd_delta]
    body = _sse([*events, _message_delta("end_turn")])
    async with _reply(_streaming(body), _call()) as reply:
        items = [c async for c in reply.chunks()]
    assert sum(isinstance(i, MalformedEvent) for i in items) == 2
    chunks = [i for i in items if isinstance(i, dict)]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1]) == "Hi"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


async def test_a_whole_json_error_object_with_status_200_is_a_failure() -> None:
    """A 200 ``application/json`` reply that is Anthropic's error object (an intermediary
    relaying ``overloaded_error``) fails as the error event would (overloaded), not as an
    empty message."""
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=error)

    async with _reply(handler, _call()) as reply:
        with pytest.raises(TransportFailure) as info:
            _ = [c async for c in reply.chunks()]
    classified = classify_outcome(
        status=None, headers={}, body_excerpt="", transport_error=info.value, provider="anthropic"
    )
    assert classified.reason is FailureReason.OVERLOADED


def test_whitespace_only_text_blocks_are_dropped_like_empty_ones() -> None:
    """A text block of only whitespace (an assistant turn that was just "\\n\\n") is dropped
    like an empty one: Anthropic refuses it with a 400, which classifies as format and ends
    the request after a failover into Anthropic."""
    body = {
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "\n\n"},
            {
                "role": "user",
                "content": [{"type": "text", "text": " "}, {"type": "text", "text": "ok"}],
            },
        ]
    }
    out = anthropic_request(body, model="m")
    assert out["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "ok"}],
        }
    ]
