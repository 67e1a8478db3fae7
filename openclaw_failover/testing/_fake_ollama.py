"""The Ollama native dialect of the fake provider: what a scripted answer or fault looks like on
``/api/chat`` and ``/api/tags``.

Shapes follow Ollama's ``docs/api.md``: NDJSON objects with ``message`` and ``done``, the final
one with ``done_reason``, ``prompt_eval_count`` and ``eval_count``; tool calls arrive whole, with
``arguments`` as an object and no id; errors are ``{"error": "..."}`` with the HTTP status, e.g.
404 ``model "x" not found, try pulling it first``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._fake_anthropic import FakeAnswer

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


def error_body(status: int, *, model: str = "", message: str | None = None) -> dict[str, Any]:
    """The JSON error body Ollama sends with ``status``."""
    text = message if message is not None else _MESSAGES.get(status, "internal error")
    return {"error": text.format(model=model)}


def request_key(headers: Mapping[str, str]) -> str | None:
    """The bearer key a request carries (a remote Ollama behind an auth proxy), if any."""
    auth = headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


def request_model(body: Mapping[str, Any]) -> str:
    """The model a request names."""
    return str(body.get("model", ""))


def wants_stream(body: Mapping[str, Any]) -> bool:
    """Whether the request asked for NDJSON; Ollama streams unless ``stream`` is false."""
    return body.get("stream", True) is not False


def _line(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data).encode() + b"\n"


def _calls(answer: FakeAnswer) -> list[dict[str, Any]]:
    return [
        {"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in answer.tool_calls
    ]


def stream_lines(answer: FakeAnswer, *, model: str) -> list[bytes]:
    """The NDJSON lines of ``answer``: one per text fragment, the tool calls, then the final."""
    lines = [
        _line(_object(model, {"role": "assistant", "content": piece}, done=False))
        for piece in answer.pieces
    ]
    if answer.tool_calls:
        message = {"role": "assistant", "content": "", "tool_calls": _calls(answer)}
        lines.append(_line(_object(model, message, done=False)))
    lines.append(_line(_final(answer, model, content="")))
    return lines


def stream_error_line(message: str = "an error was encountered while running the model") -> bytes:
    """An ``{"error": ...}`` line inside a 200 stream."""
    return _line({"error": message})


def whole_reply(answer: FakeAnswer, *, model: str) -> dict[str, Any]:
    """The ``stream: false`` reply for ``answer``."""
    reply = _final(answer, model, content=answer.text)
    if answer.tool_calls:
        reply["message"]["tool_calls"] = _calls(answer)
    return reply


def _object(model: str, message: Mapping[str, Any], *, done: bool) -> dict[str, Any]:
    return {"model": model, "created_at": _CREATED_AT, "message": dict(message), "done": done}


def _final(answer: FakeAnswer, model: str, *, content: str) -> dict[str, Any]:
    final = _object(model, {"role": "assistant", "content": content}, done=True)
    final.update(
        done_reason="stop",
        total_duration=1_000_000,
        prompt_eval_count=answer.prompt_tokens,
        eval_count=answer.completion_tokens,
    )
    return final


def tags(models: Sequence[str]) -> dict[str, Any]:
    """The ``GET /api/tags`` reply listing ``models`` as pulled."""
    return {
        "models": [
            {"name": m, "model": m, "modified_at": _CREATED_AT, "size": 0, "digest": "0" * 64}
            for m in models
        ]
    }
