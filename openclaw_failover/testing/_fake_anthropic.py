"""The Anthropic Messages dialect of the fake provider: what a scripted answer or fault looks
like on Anthropic's wire.

Shapes follow Anthropic's API reference: "Streaming Messages" (the event sequence), "Messages"
(the whole-message reply) and "Errors" (HTTP status -> error ``type``: 400
invalid_request_error, 401 authentication_error, 402 billing_error, 403 permission_error, 404
not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error, 529
overloaded_error; the body is ``{"type": "error", "error": {"type", "message"}}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class FakeToolCall(Protocol):
    """A scripted tool call: id, name and arguments as an object."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def arguments(self) -> Mapping[str, Any]: ...


class FakeAnswer(Protocol):
    """A scripted successful answer, whatever dialect renders it."""

    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def pieces(self) -> Sequence[str]: ...
    @property
    def tool_calls(self) -> Sequence[FakeToolCall]: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...


ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_MESSAGES: Mapping[str, str] = {
    "invalid_request_error": "messages: invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "model: {model}",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}

#: The documented context-overflow text of a 400 invalid_request_error.
CONTEXT_OVERFLOW_MESSAGE = "prompt is too long: 215000 tokens > 200000 maximum"


def error_body(status: int, *, model: str = "", message: str | None = None) -> dict[str, Any]:
    """The JSON error body Anthropic sends with ``status``."""
    kind = ERROR_TYPES.get(status, "api_error")
    text = message if message is not None else _MESSAGES.get(kind, "error").format(model=model)
    return {"type": "error", "error": {"type": kind, "message": text}}


def request_key(headers: Mapping[str, str]) -> str | None:
    """The API key a request carries (``x-api-key``)."""
    return headers.get("x-api-key")


def request_model(body: Mapping[str, Any]) -> str:
    """The model a request names."""
    return str(body.get("model", ""))


def wants_stream(body: Mapping[str, Any]) -> bool:
    """Whether the request asked for SSE."""
    return bool(body.get("stream"))


def _frame(data: Mapping[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events(answer: FakeAnswer, *, model: str) -> list[bytes]:
    """The SSE frames of ``answer``, one text fragment per content_block_delta."""
    frames = [_frame({"type": "message_start", "message": _message(answer, model, start=True)})]
    index = 0
    if answer.pieces:
        frames.append(
            _frame(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                }
            )
        )
        frames.append(_frame({"type": "ping"}))
        for piece in answer.pieces:
            text = {"type": "text_delta", "text": piece}
            frames.append(_frame({"type": "content_block_delta", "index": 0, "delta": text}))
        frames.append(_frame({"type": "content_block_stop", "index": 0}))
        index = 1
    for offset, call in enumerate(answer.tool_calls):
        frames.extend(_tool_frames(index + offset, call.id, call.name, call.arguments))
    delta: dict[str, Any] = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
    frames.append(
        _frame(
            {
                "type": "message_delta",
                "delta": delta,
                "usage": {"output_tokens": answer.completion_tokens},
            }
        )
    )
    frames.append(_frame({"type": "message_stop"}))
    return frames


def _tool_frames(index: int, call_id: str, name: str, arguments: Mapping[str, Any]) -> list[bytes]:
    text = json.dumps(dict(arguments))
    half = len(text) // 2
    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
    frames = [_frame({"type": "content_block_start", "index": index, "content_block": block})]
    for part in (text[:half], text[half:]):  # arguments arrive split, as the docs show
        delta = {"type": "input_json_delta", "partial_json": part}
        frames.append(_frame({"type": "content_block_delta", "index": index, "delta": delta}))
    frames.append(_frame({"type": "content_block_stop", "index": index}))
    return frames


def stream_error_event(status: int = 529) -> bytes:
    """An ``error`` event inside a 200 stream (``overloaded_error`` by default)."""
    return _frame(error_body(status))


def whole_message(answer: FakeAnswer, *, model: str) -> dict[str, Any]:
    """The non-streamed Messages reply for ``answer``."""
    return _message(answer, model, start=False)


def _message(answer: FakeAnswer, model: str, *, start: bool) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if not start:
        if answer.text:
            content.append({"type": "text", "text": answer.text})
        content += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.arguments)}
            for c in answer.tool_calls
        ]
    return {
        "id": "msg_fake_" + answer.id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": None if start else _stop_reason(answer),
        "stop_sequence": None,
        "usage": {
            "input_tokens": answer.prompt_tokens,
            "output_tokens": 1 if start else answer.completion_tokens,
        },
    }


def _stop_reason(answer: FakeAnswer) -> str:
    return "tool_use" if answer.tool_calls else "end_turn"


def model_list(models: Sequence[str]) -> dict[str, Any]:
    """The ``GET /v1/models`` reply."""
    data = [{"type": "model", "id": m, "display_name": m} for m in models]
    return {"data": data, "has_more": False}
