"""The Anthropic and Ollama fake dialects render answers our adapters read back unchanged."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openclaw_failover.providers._translate_anthropic_stream import (
    AnthropicStreamState,
    anthropic_event_chunks,
    message_chunks,
)
from openclaw_failover.providers._translate_ollama import OllamaStreamState, ollama_line_chunks
from openclaw_failover.testing import _fake_anthropic, _fake_ollama


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Answer:
    text: str = "Hello there"
    pieces: Sequence[str] = ("Hello", " there")
    tool_calls: Sequence[Call] = ()
    id: str = "a1"
    prompt_tokens: int = 11
    completion_tokens: int = 7
    extra: dict[str, Any] = field(default_factory=dict)


WEATHER = Call("toolu_1", "get_weather", {"location": "Paris", "unit": "celsius"})


def _text(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _arguments(chunks: list[dict[str, Any]]) -> dict[int, str]:
    args: dict[int, str] = {}
    for c in chunks:
        for call in c["choices"][0]["delta"].get("tool_calls", ()) if c["choices"] else ():
            args[call["index"]] = args.get(call["index"], "") + call["function"]["arguments"]
    return args


def _read_sse(frames: list[bytes]) -> list[dict[str, Any]]:
    state = AnthropicStreamState()
    chunks: list[dict[str, Any]] = []
    for frame in frames:
        lines = frame.decode().strip().split("\n")
        event = lines[0].removeprefix("event: ")
        data = json.loads(lines[1].removeprefix("data: "))
        chunks.extend(anthropic_event_chunks(state, event, data))
    return chunks


def test_anthropic_stream_round_trips_text_tools_and_usage() -> None:
    """The fake's SSE frames read back as the scripted text, tool call, finish and usage."""
    chunks = _read_sse(_fake_anthropic.stream_events(Answer(tool_calls=(WEATHER,)), model="c-1"))
    assert _text(chunks) == "Hello there"
    assert json.loads(_arguments(chunks)[0]) == {"location": "Paris", "unit": "celsius"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    assert {c["model"] for c in chunks} == {"c-1"}


def test_anthropic_whole_message_round_trips() -> None:
    """The fake's non-streamed message reads back as the same answer."""
    chunks = message_chunks(
        AnthropicStreamState(), _fake_anthropic.whole_message(Answer(), model="c-1")
    )
    assert _text(chunks) == "Hello there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_anthropic_error_bodies_follow_the_documented_shape() -> None:
    """Error bodies are ``{"type": "error", "error": {type, message}}`` with the status's type."""
    body = _fake_anthropic.error_body(529)
    assert body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert (
        _fake_anthropic.error_body(404, model="claude-x")["error"]["message"] == "model: claude-x"
    )


def test_ollama_stream_round_trips_text_tools_and_usage() -> None:
    """The fake's NDJSON reads back with text, a string-arguments tool call and usage."""
    state = OllamaStreamState()
    lines = _fake_ollama.stream_lines(Answer(tool_calls=(WEATHER,)), model="qwen3:8b")
    chunks = [c for line in lines for c in ollama_line_chunks(state, json.loads(line))]
    assert _text(chunks) == "Hello there"
    assert json.loads(_arguments(chunks)[0]) == {"location": "Paris", "unit": "celsius"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["total_tokens"] == 18


def test_ollama_whole_reply_and_tags() -> None:
    """``stream: false`` replies carry the whole text; /api/tags lists the pulled models."""
    reply = _fake_ollama.whole_reply(Answer(), model="qwen3:8b")
    assert reply["message"]["content"] == "Hello there"
    assert reply["done"] is True
    assert [m["name"] for m in _fake_ollama.tags(["qwen3:8b"])["models"]] == ["qwen3:8b"]
    assert _fake_ollama.wants_stream({}) is True
    assert _fake_ollama.wants_stream({"stream": False}) is False
    assert "try pulling it first" in _fake_ollama.error_body(404, model="x")["error"]
