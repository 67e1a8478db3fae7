"""Anthropic Messages adapter: request translation, stream translation, the transport on the wire.

Examples follow Anthropic's API reference: "Messages" (system prompt, multi-turn with tool_use and
tool_result), "Streaming Messages" (the "Basic streaming request" and "Streaming request with
tool use" event sequences) and "Errors" (the error object, ``overloaded_error`` in a stream).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from openclaw_failover._model import Candidate, ModelSpec, Profile, Provider, Secret
from openclaw_failover._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from openclaw_failover.providers._translate_anthropic import anthropic_request
from openclaw_failover.providers._translate_anthropic_stream import (
    AnthropicStreamError,
    AnthropicStreamState,
    anthropic_event_chunks,
    message_chunks,
)
from openclaw_failover.providers._translate_common import TranslationError
from openclaw_failover.providers.anthropic import AnthropicTransport, messages_url

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}

# "Streaming request with tool use": text, then a tool_use block whose input arrives as
# input_json_delta fragments, then message_delta with stop_reason tool_use.
TOOL_STREAM: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
            "type": "message",
            "role": "assistant",
            "model": "claude-opus-4-6",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 472, "output_tokens": 2},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay"}},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": ", let me check."},
    },
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {},
        },
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"location":'},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ' "San Francisco, CA"}'},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 89},
    },
    {"type": "message_stop"},
]


def _collect(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    state = AnthropicStreamState()
    chunks: list[dict[str, Any]] = []
    for event in events:
        chunks.extend(anthropic_event_chunks(state, str(event["type"]), event))
    return chunks


def _tool_calls(chunks: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls", ()):
                slot = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.get("id", slot["id"])
                slot["name"] = call.get("function", {}).get("name", slot["name"]) or slot["name"]
                slot["arguments"] += call.get("function", {}).get("arguments", "")
    return calls


def _text(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# ----------------------------------------------------------------------------- requests


def test_request_moves_system_prompts_to_the_top_level() -> None:
    """System and developer messages become Anthropic's top-level ``system`` string."""
    body = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "Hello, Claude"},
        ],
        "max_tokens": 1024,
    }
    out = anthropic_request(body, model="claude-opus-4-6")
    assert out["system"] == "You are terse.\n\nAnswer in English."
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}
    ]
    assert out["model"] == "claude-opus-4-6"
    assert out["max_tokens"] == 1024
    assert out["stream"] is True


def test_request_max_tokens_prefers_max_completion_tokens_then_default() -> None:
    """``max_completion_tokens`` wins over ``max_tokens``; without either the default is sent."""
    msgs = [{"role": "user", "content": "hi"}]
    assert (
        anthropic_request(
            {"messages": msgs, "max_completion_tokens": 7, "max_tokens": 9}, model="m"
        )["max_tokens"]
        == 7
    )
    assert (
        anthropic_request({"messages": msgs}, model="m", default_max_tokens=321)["max_tokens"]
        == 321
    )


def test_request_translates_multi_turn_tool_use_and_results() -> None:
    """Assistant tool_calls become tool_use blocks (arguments parsed); tool messages become
    tool_result blocks in one user turn, merged with the user's following text."""
    body = {
        "messages": [
            {"role": "user", "content": "What's the weather like in San Francisco?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"location": "San Francisco, CA"}',
                        },
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "toolu_01A09q90qw90lq917835lq9",
                "content": "15 degrees",
            },
            {"role": "user", "content": "And in Paris?"},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
        "parallel_tool_calls": False,
    }
    out = anthropic_request(body, model="m")
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assistant = out["messages"][1]["content"]
    assert assistant[0] == {"type": "text", "text": "Let me check."}
    assert assistant[1] == {
        "type": "tool_use",
        "id": "toolu_01A09q90qw90lq917835lq9",
        "name": "get_weather",
        "input": {"location": "San Francisco, CA"},
    }
    assert out["messages"][2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
            "content": "15 degrees",
        },
        {"type": "text", "text": "And in Paris?"},
    ]
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_request_translates_content_parts_and_images() -> None:
    """Text parts stay text; a data: image becomes a base64 source and a URL a url source."""
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these images?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                    },
                    {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.jpg"}},
                ],
            }
        ]
    }
    blocks = anthropic_request(body, model="m")["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.invalid/cat.jpg"},
    }


def test_request_maps_sampling_stop_and_named_tool_choice() -> None:
    """temperature is capped at Anthropic's 1.0, stop becomes stop_sequences, a named tool choice
    becomes ``{"type": "tool", "name": ...}``."""
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 1.6,
        "top_p": 0.5,
        "stop": "END",
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }
    out = anthropic_request(body, model="m")
    assert out["temperature"] == 1.0
    assert out["top_p"] == 0.5
    assert out["stop_sequences"] == ["END"]
    assert out["tool_choice"] == {"type": "tool", "name": "get_weather"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        # an object or a list as the role (found by the fuzzer: an unhashable role crashed)
        ({"messages": [{"role": {}, "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "x"}, {"role": ["user"]}]}, "messages[1].role"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
    ],
)
def test_request_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    """A request Anthropic cannot take raises TranslationError naming the offending field."""
    with pytest.raises(TranslationError) as info:
        anthropic_request(body, model="m")
    assert info.value.field_path == field
    assert field in str(info.value)


# ----------------------------------------------------------------------------- responses


def test_stream_text_becomes_role_content_finish_and_usage_chunks() -> None:
    """The basic streaming example: role chunk, text deltas, finish ``stop``, then usage."""
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "claude-opus-4-6",
                "usage": {"input_tokens": 25, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Hello"},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 15},
        },
        {"type": "message_stop"},
    ]
    chunks = _collect(events)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert {c["id"] for c in chunks} == {"msg_1"}
    assert {c["model"] for c in chunks} == {"claude-opus-4-6"}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert _text(chunks) == "Hello!"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 25, "completion_tokens": 15, "total_tokens": 40}


def test_stream_tool_use_becomes_openai_tool_calls_with_string_arguments() -> None:
    """input_json_delta fragments join into one OpenAI tool call whose arguments are a string."""
    chunks = _collect(TOOL_STREAM)
    assert _text(chunks) == "Okay, let me check."
    calls = _tool_calls(chunks)
    assert calls == {
        0: {
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "arguments": '{"location": "San Francisco, CA"}',
        }
    }
    assert json.loads(calls[0]["arguments"]) == {"location": "San Francisco, CA"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["prompt_tokens"] == 472
    assert chunks[-1]["usage"]["completion_tokens"] == 89


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str, finish: str) -> None:
    """Every documented stop_reason maps to the OpenAI finish_reason of the same meaning."""
    events = [
        {"type": "message_start", "message": {"id": "m", "model": "x", "usage": {}}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason},
            "usage": {"output_tokens": 1},
        },
        {"type": "message_stop"},
    ]
    assert _collect(events)[-2]["choices"][0]["finish_reason"] == finish


def test_stream_error_event_raises_with_the_error_type() -> None:
    """An ``error`` event (``overloaded_error``, HTTP 529's meaning) raises with its type."""
    state = AnthropicStreamState()
    event = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(AnthropicStreamError) as info:
        anthropic_event_chunks(state, "error", event)
    assert info.value.error_type == "overloaded_error"


def test_unknown_and_thinking_events_are_tolerated() -> None:
    """Unknown event types and thinking deltas produce no chunks and no error."""
    state = AnthropicStreamState()
    assert anthropic_event_chunks(state, "future_event", {"type": "future_event"}) == []
    thinking = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "hmm"},
    }
    assert anthropic_event_chunks(state, "content_block_delta", thinking) == []


def test_whole_message_becomes_the_same_chunks() -> None:
    """A non-streamed reply (server ignored ``stream``) yields text, tool call, finish, usage."""
    message = {
        "id": "msg_2",
        "type": "message",
        "model": "claude-opus-4-6",
        "content": [
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "toolu_9",
                "name": "get_weather",
                "input": {"location": "Paris"},
            },
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    chunks = message_chunks(AnthropicStreamState(), message)
    assert _text(chunks) == "Checking."
    assert _tool_calls(chunks)[0]["arguments"] == '{"location":"Paris"}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["total_tokens"] == 15


# ----------------------------------------------------------------------------- transport


def _call(body: dict[str, Any], *, base_url: str = "https://anthropic.invalid") -> UpstreamCall:
    provider = Provider(
        id="anthropic",
        api="anthropic-messages",
        base_url=base_url,
        models={"claude-opus-4-6": ModelSpec(id="claude-opus-4-6", max_tokens=2048)},
    )
    profile = Profile(
        id="anthropic:team", provider="anthropic", secret=Secret("sk-ant-test-123"), source="config"
    )
    return UpstreamCall(
        provider=provider,
        candidate=Candidate("anthropic", "claude-opus-4-6"),
        profile=profile,
        body=body,
        headers={"traceparent": "00-abc-def-01"},
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


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


async def test_transport_sends_headers_url_and_body_and_streams_chunks() -> None:
    """The transport posts to /v1/messages with x-api-key and anthropic-version; yields chunks."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_sse(TOOL_STREAM)
        )

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "hi"}]})) as reply:
        assert reply.status == 200
        chunks = [c async for c in reply.chunks()]
    request = seen[0]
    assert str(request.url) == "https://anthropic.invalid/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test-123"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["traceparent"] == "00-abc-def-01"
    sent = json.loads(request.content)
    assert sent["model"] == "claude-opus-4-6"
    assert sent["max_tokens"] == 2048  # the model's declared max_tokens is the default
    assert all(isinstance(c, dict) for c in chunks)
    assert _tool_calls([c for c in chunks if isinstance(c, dict)])[0]["name"] == "get_weather"


async def test_transport_error_reply_exposes_a_redacted_excerpt() -> None:
    """A non-2xx reply keeps its status and headers; the excerpt never contains the key."""
    error = {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key sk-ant-test-123"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json=error, headers={"request-id": "req_1"})

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        excerpt = await reply.error_excerpt()
        assert reply.status == 401
        assert reply.headers["request-id"] == "req_1"
    assert "authentication_error" in excerpt
    assert "sk-ant-test-123" not in excerpt


async def test_transport_mid_stream_error_event_is_a_transport_failure() -> None:
    """An overloaded_error event inside a 200 stream raises TransportFailure naming the type."""
    events = [
        TOOL_STREAM[0],
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_sse(events)
        )

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        with pytest.raises(TransportFailure) as info:
            _ = [c async for c in reply.chunks()]
    assert info.value.detail.startswith("overloaded_error")


async def test_transport_skips_malformed_events_and_finishes_without_message_stop() -> None:
    """A garbled data line is a MalformedEvent; a stream that ends after its message_delta but
    without message_stop still finishes cleanly."""
    end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}}
    body = _sse(TOOL_STREAM[:5]) + b"event: content_block_delta\ndata: {not json\n\n"
    body += _sse([end])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        items = [c async for c in reply.chunks()]
    assert any(isinstance(i, MalformedEvent) for i in items)
    dicts = [i for i in items if isinstance(i, dict)]
    assert dicts[-2]["choices"][0]["finish_reason"] == "stop"


async def test_transport_connect_error_is_a_transport_failure() -> None:
    """A refused connection raises TransportFailure(kind="ConnectError")."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransportFailure) as info:
        async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})):
            pass
    assert info.value.kind == "ConnectError"


async def test_transport_answers_an_untranslatable_request_with_a_local_400() -> None:
    """A request that cannot be expressed is a 400 naming the field; nothing goes on the wire."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client,
        AnthropicTransport(client).send(_call({"messages": "hello"})) as reply,
    ):
        assert reply.status == 400
        assert "messages" in await reply.error_excerpt()


async def test_list_models_reads_v1_models() -> None:
    """list_models returns the ids of GET /v1/models."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models"
        assert request.headers["x-api-key"] == "sk-ant-test-123"
        return httpx.Response(
            200, json={"data": [{"id": "claude-opus-4-6"}, {"id": "claude-haiku-4-5"}]}
        )

    call = _call({})
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ids = await AnthropicTransport(client).list_models(call.provider, call.profile)
    assert ids == ["claude-opus-4-6", "claude-haiku-4-5"]


def test_messages_url_accepts_base_urls_with_or_without_v1() -> None:
    """Base URLs with and without ``/v1`` (and a trailing slash) reach the same endpoint."""
    assert messages_url("https://a.invalid") == "https://a.invalid/v1/messages"
    assert messages_url("https://a.invalid/v1/") == "https://a.invalid/v1/messages"


def test_request_drops_empty_text_and_empty_turns() -> None:
    """Empty text blocks and turns with nothing left are dropped (the API refuses them)."""
    body = {
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": ""},
            {
                "role": "user",
                "content": [{"type": "text", "text": ""}, {"type": "text", "text": "second"}],
            },
        ]
    }
    out = anthropic_request(body, model="m")
    assert out["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}],
        }
    ]


async def test_transport_reads_a_whole_json_message_when_the_server_ignores_stream() -> None:
    """A server that answers ``application/json`` instead of SSE still yields the same chunks."""
    message = {
        "id": "msg_3",
        "type": "message",
        "model": "claude-opus-4-6",
        "content": [{"type": "text", "text": "Plain reply."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=message)

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        chunks = [c async for c in reply.chunks()]
    dicts = [c for c in chunks if isinstance(c, dict)]
    assert _text(dicts) == "Plain reply."
    assert dicts[-1]["usage"]["total_tokens"] == 5


async def test_list_models_http_error_is_a_transport_failure_without_the_key() -> None:
    """A 401 from /v1/models raises TransportFailure naming the status, never the key."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"type": "error", "error": {"type": "authentication_error"}}
        )

    call = _call({})
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportFailure) as info:
            await AnthropicTransport(client).list_models(call.provider, call.profile)
    assert info.value.kind == "HTTPStatusError"
    assert "401" in info.value.detail
    assert "sk-ant-test-123" not in str(info.value)


def test_foreign_tool_call_ids_are_made_safe_on_both_sides() -> None:
    """A history from another vendor with ids Anthropic refuses (``functions.read:0``) maps
    the id the same way on tool_use and tool_result, so the pair still matches."""
    body = {
        "messages": [
            {"role": "user", "content": "read it"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "functions.read:0",
                        "type": "function",
                        "function": {"name": "read", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "functions.read:0", "content": "text"},
        ]
    }
    out = anthropic_request(body, model="m")
    use_id = out["messages"][1]["content"][0]["id"]
    assert use_id == "functions_read_0"
    assert out["messages"][2]["content"][0]["tool_use_id"] == use_id


def test_broken_tool_arguments_in_history_pass_as_raw_text() -> None:
    """History arguments that are not a JSON object go through as ``_raw_arguments`` rather
    than refusing the request (OpenAI accepted them, so a failover must too)."""
    call = {"id": "a", "function": {"name": "f", "arguments": '{"path": "x'}}
    body = {
        "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}]
    }
    block = anthropic_request(body, model="m")["messages"][1]["content"][0]
    assert block["input"] == {"_raw_arguments": '{"path": "x'}


async def test_a_temperature_that_is_not_a_number_is_a_local_400_naming_it() -> None:
    """``temperature: "hot"`` is the request's own fault: a 400 naming the field, what was
    found and what is expected (it raised ValueError inside send, a 500), nothing sent."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    body = {"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client,
        AnthropicTransport(client).send(_call(body)) as reply,
    ):
        assert reply.status == 400
        excerpt = await reply.error_excerpt()
    assert "temperature" in excerpt
    assert "'hot'" in excerpt
    assert "a number" in excerpt
