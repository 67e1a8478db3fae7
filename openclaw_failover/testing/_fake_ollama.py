"""The Ollama native dialect of the fake provider, and ``FakeOllamaServer``.

Shapes follow Ollama's ``docs/api.md``: ``POST /api/chat`` streams NDJSON objects with
``message`` and ``done`` (streaming is the default; ``stream: false`` gives one object); the
final object has ``done_reason``, ``prompt_eval_count`` and ``eval_count``; tool calls arrive
whole, with ``arguments`` as an object and no id; ``GET /api/tags`` lists pulled models; errors
are ``{"error": "..."}`` with the HTTP status, e.g. 404 ``model "x" not found, try pulling it
first``. Ollama has no stream preamble and no end marker beyond ``done: true``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ._dialect import StreamPlan
from ._fake_server import FakeProviderServer
from ._faults import Answer
from ._script import Scripted

__all__ = ["CONTEXT_OVERFLOW_MESSAGE", "FakeOllamaServer", "OllamaDialect"]

_CREATED_AT = "2026-01-01T00:00:00.000000Z"

_MESSAGES: Mapping[int, str] = {
    400: "invalid request",
    401: "unauthorized",
    404: 'model "{model}" not found, try pulling it first',
    429: "too many requests",
    500: "llama runner process has terminated: exit status 2",
    503: "server busy, please try again.  maximum pending requests exceeded",
}

#: Context overflow as Ollama reports it when truncation is off.
CONTEXT_OVERFLOW_MESSAGE = "the input length exceeds the context length"


def _line(data: Mapping[str, Any]) -> bytes:
    return orjson.dumps(data) + b"\n"


def _object(model: str, message: Mapping[str, Any], *, done: bool) -> dict[str, Any]:
    return {"model": model, "created_at": _CREATED_AT, "message": dict(message), "done": done}


def _calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in answer.tool_calls
    ]


class OllamaDialect:
    """Ollama's native API on ``/api/chat`` and ``/api/tags`` (no key unless a proxy adds one)."""

    name = "ollama"
    base_path = ""
    chat_paths: tuple[str, ...] = ("/api/chat",)
    models_paths: tuple[str, ...] = ("/api/tags",)
    stream_content_type = "application/x-ndjson"

    def request_key(self, headers: Mapping[str, str]) -> str | None:
        """The bearer token a fronting proxy would check, if any."""
        auth = headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def request_model(self, body: Any) -> str:
        """``body["model"]``."""
        return str(body.get("model", "")) if isinstance(body, dict) else ""

    def wants_stream(self, body: Any) -> bool:
        """Ollama streams unless ``stream`` is false."""
        return not (isinstance(body, dict) and body.get("stream") is False)

    def stream_plan(self, answer: Answer, *, model: str, request: Any) -> StreamPlan:
        """One line per text piece and per tool call; the final ``done: true`` line closes."""
        content = [
            _line(_object(model, {"role": "assistant", "content": piece}, done=False))
            for piece in answer.pieces or ()
        ]
        for call in _calls(answer):
            message = {"role": "assistant", "content": "", "tool_calls": [call]}
            content.append(_line(_object(model, message, done=False)))
        closing = _line(self._final(answer, model, content=""))
        return StreamPlan((), tuple(content), (closing,), b"")

    def whole_reply(self, answer: Answer, *, model: str, request: Any) -> dict[str, Any]:
        """The ``stream: false`` reply: one final object with the whole message."""
        reply = self._final(answer, model, content=answer.text)
        if answer.tool_calls:
            reply["message"]["tool_calls"] = _calls(answer)
        return reply

    def _final(self, answer: Answer, model: str, *, content: str) -> dict[str, Any]:
        final = _object(model, {"role": "assistant", "content": content}, done=True)
        final.update(
            done_reason="stop",
            total_duration=1_000_000,
            load_duration=1_000,
            prompt_eval_count=answer.prompt_tokens,
            eval_count=answer.completion_tokens or 0,
        )
        return final

    def error_body(
        self, status: int, *, model: str, message: str | None, code: str | None
    ) -> dict[str, Any]:
        """``{"error": "<text>"}`` (Ollama has no error codes)."""
        text = message if message is not None else _MESSAGES.get(status, "internal error")
        return {"error": text.format(model=model) if message is None else text}

    def malformed_frame(self) -> bytes:
        """A line whose JSON is cut in the middle."""
        return b'{"model": "m", "created_at": "2026-01-01", "message": {"role": "assis\n'

    def stream_error_frame(self, status: int) -> bytes:
        """An ``{"error": ...}`` line inside a 200 stream."""
        return _line({"error": "an error was encountered while running the model"})

    def model_list(self, models: Sequence[str]) -> dict[str, Any]:
        """The ``GET /api/tags`` reply listing ``models`` as pulled."""
        tags = [
            {"name": m, "model": m, "modified_at": _CREATED_AT, "size": 0, "digest": "0" * 64}
            for m in models
        ]
        return {"models": tags}


class FakeOllamaServer(FakeProviderServer):
    """A fault-injecting Ollama server (native API) on 127.0.0.1 (ephemeral port).

    ``url`` is the server root; point an ``api: "ollama"`` provider's ``baseUrl`` at it.
    ``models`` is what ``/api/tags`` reports as pulled. Scripting is the same as
    ``FakeOpenAIServer``.
    """

    def __init__(
        self,
        *,
        models: Sequence[str] = ("qwen3:8b",),
        default: Scripted | None = None,
        hang_limit_s: float = 30.0,
        reset_pause_s: float = 0.05,
        fault_answer: Answer | None = None,
    ) -> None:
        super().__init__(
            OllamaDialect(),
            models=models,
            default=default,
            hang_limit_s=hang_limit_s,
            reset_pause_s=reset_pause_s,
            fault_answer=fault_answer,
        )
