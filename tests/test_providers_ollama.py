"""Ollama native adapter: request translation, NDJSON translation, the transport on the wire.

Examples follow Ollama's ``docs/api.md``: "Chat Request (Streaming)", "Chat request (With
History)", "Chat request (with tools)" (arguments as an object, no call id), "Generate request
(With options)" (``num_predict`` and friends), "Load a model" (``done_reason: load``) and
"List Local Models" (``GET /api/tags``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from openclaw_failover._model import Candidate, Provider, Tier
from openclaw_failover._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from openclaw_failover.providers._translate_common import ChunkBuilder, TranslationError
from openclaw_failover.providers._translate_ollama import (
    OllamaStreamError,
    OllamaStreamState,
    ollama_line_chunks,
    ollama_request,
)
from openclaw_failover.providers.ollama import OllamaTransport, has_model, native_base

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather for a location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "format": {"type": "string"}},
            "required": ["location", "format"],
        },
    },
}

TOOL_REPLY = {
    "model": "llama3.2",
    "created_at": "2024-07-22T20:33:28.123648Z",
    "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "function": {
                    "name": "get_current_weather",
                    "arguments": {"format": "celsius", "location": "Paris, FR"},
                }
            }
        ],
    },
    "done_reason": "stop",
    "done": True,
    "prompt_eval_count": 122,
    "eval_count": 33,
}


def _state() -> OllamaStreamState:
    ids = iter(f"call_{n}" for n in range(100))
    return OllamaStreamState(builder=ChunkBuilder(new_id=lambda: next(ids)))


def _collect(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    state = _state()
    return [chunk for line in lines for chunk in ollama_line_chunks(state, line)]


def _text(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _calls(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        call
        for c in chunks
        if c["choices"]
        for call in c["choices"][0]["delta"].get("tool_calls", ())
    ]


# ----------------------------------------------------------------------------- requests


def test_request_keeps_history_and_system_and_sets_stream() -> None:
    """Messages keep their order and roles (developer -> system); the request always streams."""
    body = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "why is the sky blue?"},
            {"role": "assistant", "content": "due to rayleigh scattering."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "how is that different "},
                    {"type": "text", "text": "than mie scattering?"},
                ],
            },
        ]
    }
    out = ollama_request(body, model="llama3.2")
    assert out["model"] == "llama3.2"
    assert out["stream"] is True
    assert out["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "why is the sky blue?"},
        {"role": "assistant", "content": "due to rayleigh scattering."},
        {"role": "user", "content": "how is that different than mie scattering?"},
    ]
    assert "options" not in out


def test_request_maps_sampling_and_limits_into_options() -> None:
    """temperature, top_p, seed, stop and max_completion_tokens go under ``options``
    (``num_predict``); keep_alive comes from the transport unless the body has its own."""
    body = {
        "messages": [{"role": "user", "content": "Hello!"}],
        "temperature": 0,
        "top_p": 0.9,
        "seed": 101,
        "stop": "user:",
        "max_completion_tokens": 100,
    }
    out = ollama_request(body, model="llama3.2", keep_alive="5m")
    assert out["options"] == {
        "temperature": 0,
        "top_p": 0.9,
        "seed": 101,
        "num_predict": 100,
        "stop": ["user:"],
    }
    assert out["keep_alive"] == "5m"
    assert ollama_request({**body, "keep_alive": 0}, model="m", keep_alive="5m")["keep_alive"] == 0


def test_request_translates_tool_calls_to_objects_and_names_tool_results() -> None:
    """OpenAI string arguments become objects; a tool result names its tool via ``tool_name``."""
    body = {
        "messages": [
            {"role": "user", "content": "What is the weather today in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": '{"location": "Paris, FR", "format": "celsius"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "22 degrees"},
        ],
        "tools": [WEATHER_TOOL],
    }
    out = ollama_request(body, model="llama3.2")
    assert out["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "function": {
                    "name": "get_current_weather",
                    "arguments": {"location": "Paris, FR", "format": "celsius"},
                }
            }
        ],
    }
    assert out["messages"][2] == {
        "role": "tool",
        "content": "22 degrees",
        "tool_name": "get_current_weather",
    }
    assert out["tools"] == [WEATHER_TOOL]


def test_request_tool_choice_none_sends_no_tools_and_json_formats_map() -> None:
    """``tool_choice: none`` withholds the tools; response_format maps to ``format``."""
    msgs = [{"role": "user", "content": "x"}]
    assert "tools" not in ollama_request(
        {"messages": msgs, "tools": [WEATHER_TOOL], "tool_choice": "none"}, model="m"
    )
    assert (
        ollama_request({"messages": msgs, "response_format": {"type": "json_object"}}, model="m")[
            "format"
        ]
        == "json"
    )
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}}
    rf = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    assert ollama_request({"messages": msgs, "response_format": rf}, model="m")["format"] == schema


def test_request_images_must_be_base64() -> None:
    """A data: image becomes a base64 ``images`` entry; a remote URL is refused by field."""
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    out = ollama_request(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "what is in this image?"}, part],
                }
            ]
        },
        model="llava",
    )
    assert out["messages"][0] == {
        "role": "user",
        "content": "what is in this image?",
        "images": ["iVBORw0KGgo="],
    }
    remote = {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}}
    with pytest.raises(TranslationError) as info:
        ollama_request({"messages": [{"role": "user", "content": [remote]}]}, model="llava")
    assert info.value.field_path == "messages[0].content[0]"


@pytest.mark.parametrize("role", ["robot", {}, ["user"], None, 3])
def test_a_role_that_is_not_a_chat_role_is_named(role: Any) -> None:
    """Any role but the five chat roles, of any JSON type, is a TranslationError naming the
    field and what was found (an object as the role once crashed the translation)."""
    with pytest.raises(TranslationError) as info:
        ollama_request({"messages": [{"role": role, "content": "x"}]}, model="m")
    assert info.value.field_path == "messages[0].role"
    assert info.value.found == repr(role)


# ----------------------------------------------------------------------------- responses


def test_stream_lines_become_role_content_finish_and_usage_chunks() -> None:
    """The streaming chat example: role chunk, content deltas, finish ``stop``, then usage."""
    lines = [
        {
            "model": "llama3.2",
            "created_at": "t",
            "message": {"role": "assistant", "content": "The"},
            "done": False,
        },
        {
            "model": "llama3.2",
            "created_at": "t",
            "message": {"role": "assistant", "content": " sky"},
            "done": False,
        },
        {
            "model": "llama3.2",
            "created_at": "t",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 26,
            "eval_count": 282,
        },
    ]
    chunks = _collect(lines)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert _text(chunks) == "The sky"
    assert {c["model"] for c in chunks} == {"llama3.2"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 26,
        "completion_tokens": 282,
        "total_tokens": 308,
    }


def test_tool_call_arguments_become_json_strings_with_generated_ids() -> None:
    """The tools example: object arguments become a JSON string; an id is generated;
    the finish reason is ``tool_calls``."""
    chunks = _collect([TOOL_REPLY])
    calls = _calls(chunks)
    assert len(calls) == 1
    assert calls[0]["id"] == "call_0"
    assert calls[0]["type"] == "function"
    assert calls[0]["function"]["name"] == "get_current_weather"
    assert isinstance(calls[0]["function"]["arguments"], str)
    assert json.loads(calls[0]["function"]["arguments"]) == {
        "format": "celsius",
        "location": "Paris, FR",
    }
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_several_tool_calls_get_distinct_indexes_and_ids() -> None:
    """Two calls in one reply get indexes 0 and 1 and different ids."""
    two = {
        **TOOL_REPLY,
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": TOOL_REPLY["message"]["tool_calls"] * 2,
        },
    }  # type: ignore[index]
    calls = _calls(_collect([two]))
    assert [c["index"] for c in calls] == [0, 1]
    assert calls[0]["id"] != calls[1]["id"]


def test_length_done_reason_maps_to_length() -> None:
    """``done_reason: length`` (num_predict reached) maps to finish_reason ``length``."""
    line = {
        "model": "m",
        "message": {"role": "assistant", "content": "abc"},
        "done": True,
        "done_reason": "length",
    }
    assert _collect([line])[-2]["choices"][0]["finish_reason"] == "length"


def test_error_line_raises() -> None:
    """An ``{"error": ...}`` object inside a stream raises OllamaStreamError with its text."""
    with pytest.raises(OllamaStreamError, match="out of memory"):
        ollama_line_chunks(
            _state(), {"error": "model runner has unexpectedly stopped: out of memory"}
        )


def test_load_only_reply_has_no_content() -> None:
    """The "Load a model" reply (``done_reason: load``) carries no content and no tool call."""
    line = {
        "model": "llama3.2",
        "message": {"role": "assistant", "content": ""},
        "done_reason": "load",
        "done": True,
    }
    chunks = _collect([line])
    assert _text(chunks) == ""
    assert _calls(chunks) == []


# ----------------------------------------------------------------------------- transport


def _call(body: dict[str, Any], *, base_url: str = "http://ollama.invalid:11434") -> UpstreamCall:
    provider = Provider(id="ollama", api="ollama", base_url=base_url)
    return UpstreamCall(
        provider=provider,
        candidate=Candidate("ollama", "qwen3:8b", Tier.LOCAL),
        profile=None,
        body=body,
    )


@asynccontextmanager
async def _reply(
    handler: Callable[[httpx.Request], httpx.Response], call: UpstreamCall, **kwargs: Any
) -> AsyncIterator[UpstreamReply]:
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client,
        OllamaTransport(client, **kwargs).send(call) as reply,
    ):
        yield reply


def _ndjson(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


async def test_transport_posts_api_chat_and_streams_tool_calls() -> None:
    """The transport posts to /api/chat (a ``/v1`` base is stripped) and yields OpenAI chunks."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, headers={"content-type": "application/x-ndjson"}, content=_ndjson([TOOL_REPLY])
        )

    body = {"messages": [{"role": "user", "content": "weather?"}], "tools": [WEATHER_TOOL]}
    async with _reply(
        handler, _call(body, base_url="http://ollama.invalid:11434/v1"), keep_alive="10m"
    ) as reply:
        assert reply.status == 200
        items = [c async for c in reply.chunks()]
    assert str(seen[0].url) == "http://ollama.invalid:11434/api/chat"
    sent = json.loads(seen[0].content)
    assert sent["model"] == "qwen3:8b"
    assert sent["keep_alive"] == "10m"
    assert "authorization" not in seen[0].headers
    chunks = [c for c in items if isinstance(c, dict)]
    assert json.loads(_calls(chunks)[0]["function"]["arguments"])["location"] == "Paris, FR"


async def test_transport_model_not_found_reply_keeps_status_and_text() -> None:
    """A 404 ``model "x" not found, try pulling it first`` reply keeps its status and text."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json={"error": 'model "qwen3:8b" not found, try pulling it first'}
        )

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        assert reply.status == 404
        assert "try pulling it first" in await reply.error_excerpt()


async def test_transport_mid_stream_error_and_garbage_lines() -> None:
    """A garbled line is a MalformedEvent; an error line raises TransportFailure with its text."""
    content = _ndjson(
        [{"model": "m", "message": {"role": "assistant", "content": "Hi"}, "done": False}]
    )
    content += b"{oops\n" + _ndjson([{"error": "an error was encountered while running the model"}])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content)

    items: list[Any] = []

    async def drain(reply: UpstreamReply) -> None:
        async for item in reply.chunks():
            items.append(item)

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        with pytest.raises(TransportFailure) as info:
            await drain(reply)
    assert any(isinstance(i, MalformedEvent) for i in items)
    assert "error was encountered" in info.value.detail


async def test_transport_read_error_mid_stream_is_a_transport_failure() -> None:
    """A connection that breaks mid-stream raises TransportFailure(kind="ReadError")."""

    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield _ndjson(
                [{"model": "m", "message": {"role": "assistant", "content": "Hi"}, "done": False}]
            )
            raise httpx.ReadError("connection reset")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Broken())

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        with pytest.raises(TransportFailure) as info:
            _ = [c async for c in reply.chunks()]
    assert info.value.kind == "ReadError"


async def test_list_models_reads_api_tags_and_has_model_matches_latest() -> None:
    """list_models reads ``models[].name`` from /api/tags; an untagged name means ``:latest``."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/tags"
        return httpx.Response(
            200,
            json={
                "models": [
                    {"name": "llama3.2:latest", "model": "llama3.2:latest"},
                    {"name": "qwen3:8b"},
                ]
            },
        )

    call = _call({})
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        names = await OllamaTransport(client).list_models(call.provider, None)
    assert names == ["llama3.2:latest", "qwen3:8b"]
    assert has_model("llama3.2", names)
    assert has_model("qwen3:8b", names)
    assert not has_model("qwen3:32b", names)
    assert has_model("mistral:latest", ["mistral"])  # an untagged listing is :latest too
    assert not has_model("mistral:7b", ["mistral"])


async def test_list_models_connect_error_is_a_transport_failure() -> None:
    """An Ollama that is not running makes list_models raise TransportFailure(ConnectError)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    call = _call({})
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportFailure) as info:
            await OllamaTransport(client).list_models(call.provider, None)
    assert info.value.kind == "ConnectError"


def test_native_base_strips_v1_and_defaults_to_loopback() -> None:
    """``…/v1`` and a trailing slash are stripped; an empty base URL means 127.0.0.1:11434."""
    assert native_base("http://h:11434/v1/") == "http://h:11434"
    assert native_base("") == "http://127.0.0.1:11434"


def test_thinking_becomes_reasoning_content() -> None:
    """A ``thinking`` field (``think`` on) becomes an OpenAI ``reasoning_content`` delta."""
    line = {
        "model": "qwen3:8b",
        "message": {"role": "assistant", "content": "", "thinking": "Hmm."},
        "done": False,
    }
    chunks = _collect([line])
    assert chunks[1]["choices"][0]["delta"] == {"reasoning_content": "Hmm."}


def test_request_reports_overflow_instead_of_truncating() -> None:
    """``truncate`` and ``shift`` default to false (an over-long prompt errors, as with
    OpenClaw's own Ollama client); a body may turn them back on, and may set ``think``."""
    msgs = [{"role": "user", "content": "x"}]
    out = ollama_request({"messages": msgs}, model="m")
    assert (out["truncate"], out["shift"]) == (False, False)
    assert "think" not in out
    on = ollama_request({"messages": msgs, "truncate": True, "think": False}, model="m")
    assert on["truncate"] is True
    assert on["think"] is False


async def test_list_models_non_json_reply_is_a_decoding_failure() -> None:
    """Something that is not Ollama on the port (an HTML page) is a TransportFailure, not an
    empty model list that would read as "nothing pulled"."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>hello</html>")

    call = _call({})
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportFailure) as info:
            await OllamaTransport(client).list_models(call.provider, None)
    assert info.value.kind == "DecodingError"


def test_assistant_refusal_parts_are_text_and_unknown_parts_name_the_field() -> None:
    """A refusal part in the history counts as text; an audio part is refused by its path."""
    refusal = {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}]}
    out = ollama_request({"messages": [{"role": "user", "content": "x"}, refusal]}, model="m")
    assert out["messages"][1]["content"] == "I can't."
    audio = {"role": "system", "content": [{"type": "input_audio", "input_audio": {}}]}
    with pytest.raises(TranslationError) as info:
        ollama_request({"messages": [audio]}, model="m")
    assert info.value.field_path == "messages[0].content[0]"


async def test_a_stream_cut_before_its_done_line_is_a_failure() -> None:
    """A 200 body that ends after some content but before ``done: true`` was cut: a
    TransportFailure (RemoteProtocolError, a server error to fail over from), not an answer
    finished as if whole."""
    content = _ndjson(
        [{"model": "m", "message": {"role": "assistant", "content": "Hal"}, "done": False}]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content)

    items: list[Any] = []

    async def drain(reply: UpstreamReply) -> None:
        async for item in reply.chunks():
            items.append(item)

    async with _reply(handler, _call({"messages": [{"role": "user", "content": "x"}]})) as reply:
        with pytest.raises(TransportFailure) as info:
            await drain(reply)
    assert info.value.kind == "RemoteProtocolError"
    assert not any(c.get("choices") and c["choices"][0].get("finish_reason") for c in items)


def test_null_max_completion_tokens_falls_back_to_max_tokens() -> None:
    """``max_completion_tokens: null`` (a client filling every field) does not hide
    ``max_tokens``: num_predict is still sent."""
    body = {"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": None}
    out = ollama_request({**body, "max_tokens": 64}, model="m", keep_alive=None)
    assert out["options"]["num_predict"] == 64
