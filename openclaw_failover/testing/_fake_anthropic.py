"""The Anthropic Messages dialect of the fake provider, and ``FakeAnthropicServer``.

Shapes follow Anthropic's API reference: "Streaming Messages" (message_start; per content block
a content_block_start, deltas — ``text_delta``, ``input_json_delta`` with the tool input split
in fragments — and content_block_stop; message_delta with ``stop_reason`` and usage;
message_stop; ``ping`` anywhere; an ``error`` event in place of the rest), "Messages" (the whole
reply), "Models" and "Errors" (HTTP status -> error ``type``: 400 invalid_request_error, 401
authentication_error, 402 billing_error, 403 permission_error, 404 not_found_error, 413
request_too_large, 429 rate_limit_error, 500 api_error, 504 timeout_error, 529
overloaded_error; the body is ``{"type": "error", "error": {"type", "message"}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ._dialect import StreamPlan
from ._fake_server import FakeProviderServer
from ._faults import Answer
from ._script import Scripted

__all__ = ["CONTEXT_OVERFLOW_MESSAGE", "AnthropicDialect", "FakeAnthropicServer"]

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
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}

#: The documented context-overflow text of a 400 invalid_request_error.
CONTEXT_OVERFLOW_MESSAGE = "prompt is too long: 215000 tokens > 200000 maximum"


def _event(data: Mapping[str, Any]) -> bytes:
    return b"event: " + str(data["type"]).encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _stop_reason(answer: Answer) -> str:
    return "tool_use" if answer.tool_calls else "end_turn"


class AnthropicDialect:
    """Anthropic Messages on ``/v1/messages`` and ``/v1/models`` (key in ``x-api-key``)."""

    name = "anthropic"
    base_path = ""
    chat_paths: tuple[str, ...] = ("/v1/messages",)
    models_paths: tuple[str, ...] = ("/v1/models",)
    stream_content_type = "text/event-stream; charset=utf-8"

    def request_key(self, headers: Mapping[str, str]) -> str | None:
        """``x-api-key``."""
        return headers.get("x-api-key")

    def request_model(self, body: Any) -> str:
        """``body["model"]``."""
        return str(body.get("model", "")) if isinstance(body, dict) else ""

    def wants_stream(self, body: Any) -> bool:
        """``body["stream"]`` is true."""
        return isinstance(body, dict) and bool(body.get("stream"))

    def stream_plan(self, answer: Answer, *, model: str, request: Any) -> StreamPlan:
        """message_start (+ the text block's start) and a ping; one frame per text delta and
        per tool-input fragment (block boundaries ride on the next frame); the last block's
        stop with message_delta; message_stop as the end marker."""
        pieces = answer.pieces or ()
        preamble = [
            _event({"type": "message_start", "message": self._message(answer, model, whole=False)})
        ]
        if pieces:
            text_block = {"type": "text", "text": ""}
            preamble[0] += _event(
                {"type": "content_block_start", "index": 0, "content_block": text_block}
            )
        preamble.append(_event({"type": "ping"}))
        content = [
            _event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                }
            )
            for p in pieces
        ]
        index = 1 if pieces else 0
        for offset, call in enumerate(answer.tool_calls):
            content += self._tool_frames(index + offset, call.id, call.name, call.arguments)
        last = index + len(answer.tool_calls) - 1
        closing = _event({"type": "content_block_stop", "index": last}) if last >= 0 else b""
        usage = {"output_tokens": answer.completion_tokens or 0}
        delta = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
        closing += _event({"type": "message_delta", "delta": delta, "usage": usage})
        return StreamPlan(
            tuple(preamble), tuple(content), (closing,), _event({"type": "message_stop"})
        )

    def _tool_frames(
        self, index: int, call_id: str, name: str, arguments: Mapping[str, Any]
    ) -> list[bytes]:
        text = orjson.dumps(dict(arguments)).decode()
        half = len(text) // 2
        head = _event({"type": "content_block_stop", "index": index - 1}) if index else b""
        block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        head += _event({"type": "content_block_start", "index": index, "content_block": block})
        frames = []
        for n, part in enumerate((text[:half], text[half:])):
            delta = {"type": "input_json_delta", "partial_json": part}
            frame = _event({"type": "content_block_delta", "index": index, "delta": delta})
            frames.append(head + frame if n == 0 else frame)
        return frames

    def whole_reply(self, answer: Answer, *, model: str, request: Any) -> dict[str, Any]:
        """The non-streamed Messages reply."""
        return self._message(answer, model, whole=True)

    def _message(self, answer: Answer, model: str, *, whole: bool) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if whole and answer.text:
            content.append({"type": "text", "text": answer.text})
        if whole:
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
            "stop_reason": _stop_reason(answer) if whole else None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": answer.prompt_tokens,
                "output_tokens": (answer.completion_tokens or 0) if whole else 1,
            },
        }

    def error_body(
        self, status: int, *, model: str, message: str | None, code: str | None
    ) -> dict[str, Any]:
        """``{"type": "error", "error": {"type", "message"}}``; ``code`` overrides the type."""
        kind = code or ERROR_TYPES.get(status, "api_error")
        text = message if message is not None else _MESSAGES.get(kind, "error").format(model=model)
        return {"type": "error", "error": {"type": kind, "message": text}}

    def malformed_frame(self) -> bytes:
        """A content_block_delta event whose JSON is cut in the middle."""
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n'

    def stream_error_frame(self, status: int) -> bytes:
        """An ``error`` event (``overloaded_error`` for 529, ``api_error`` for 500)."""
        return _event(self.error_body(status, model="", message=None, code=None))

    def model_list(self, models: Sequence[str]) -> dict[str, Any]:
        """The ``GET /v1/models`` page."""
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}
            for m in models
        ]
        first, last = (models[0], models[-1]) if models else (None, None)
        return {"data": data, "has_more": False, "first_id": first, "last_id": last}


class FakeAnthropicServer(FakeProviderServer):
    """A fault-injecting Anthropic Messages server on 127.0.0.1 (ephemeral port).

    ``url`` is the server root; point an ``anthropic-messages`` provider's ``baseUrl`` (or the
    ``anthropic`` SDK's ``base_url``) at it. Scripting is the same as ``FakeOpenAIServer``.
    """

    def __init__(
        self,
        *,
        models: Sequence[str] = ("claude-fake",),
        default: Scripted | None = None,
        hang_limit_s: float = 30.0,
        reset_pause_s: float = 0.05,
        fault_answer: Answer | None = None,
    ) -> None:
        super().__init__(
            AnthropicDialect(),
            models=models,
            default=default,
            hang_limit_s=hang_limit_s,
            reset_pause_s=reset_pause_s,
            fault_answer=fault_answer,
        )
