"""The OpenAI chat-completions dialect of the fake provider, and ``FakeOpenAIServer``.

Shapes follow OpenAI's API reference: "Create chat completion" (the ``chat.completion`` object
and the streamed ``chat.completion.chunk`` objects: a first chunk with ``role`` and empty
content, one delta per piece, tool calls as an indexed first delta with id and name and then
argument fragments, a final chunk with ``finish_reason``, a usage chunk with empty ``choices``
when ``stream_options.include_usage`` is set, then ``data: [DONE]``), "List models", and
"Error codes" (``{"error": {"message", "type", "param", "code"}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ._dialect import StreamPlan
from ._fake_server import FakeProviderServer
from ._faults import Answer
from ._script import Scripted

__all__ = ["FakeOpenAIServer", "OpenAIDialect"]

_CREATED = 1_800_000_000

#: status -> (type, code, message); messages never echo the key.
_ERRORS: Mapping[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    402: ("insufficient_quota", "insufficient_quota", "Insufficient credits on this account."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model `{model}` does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for {model}."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    529: ("server_error", "overloaded", "Overloaded."),
}


def _sse(data: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


class OpenAIDialect:
    """OpenAI-compatible chat completions on ``/v1/chat/completions`` and ``/v1/models``."""

    name = "openai"
    base_path = "/v1"
    chat_paths: tuple[str, ...] = ("/v1/chat/completions", "/chat/completions")
    models_paths: tuple[str, ...] = ("/v1/models", "/models")
    stream_content_type = "text/event-stream; charset=utf-8"

    def request_key(self, headers: Mapping[str, str]) -> str | None:
        """The bearer token, else ``x-api-key``."""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return headers.get("x-api-key")

    def request_model(self, body: Any) -> str:
        """``body["model"]``."""
        return str(body.get("model", "")) if isinstance(body, dict) else ""

    def wants_stream(self, body: Any) -> bool:
        """``body["stream"]`` is true."""
        return isinstance(body, dict) and bool(body.get("stream"))

    def stream_plan(self, answer: Answer, *, model: str, request: Any) -> StreamPlan:
        """Role chunk; one chunk per piece and per tool-call fragment; finish and usage; DONE."""
        chunk = _Chunks(answer.id, model)
        preamble = (chunk.delta({"role": "assistant", "content": "", "refusal": None}),)
        content = [chunk.delta({"content": piece}) for piece in answer.pieces or ()]
        for index, call in enumerate(answer.tool_calls):
            args = orjson.dumps(dict(call.arguments)).decode()
            head = {"index": index, "id": call.id, "type": "function"}
            head["function"] = {"name": call.name, "arguments": ""}
            content.append(chunk.delta({"tool_calls": [head]}))
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                fragment = {"index": index, "function": {"arguments": part}}
                content.append(chunk.delta({"tool_calls": [fragment]}))
        closing = [chunk.delta({}, finish=_finish_reason(answer))]
        options = request.get("stream_options") if isinstance(request, dict) else None
        if isinstance(options, dict) and options.get("include_usage"):
            closing.append(chunk.usage(_usage(answer)))
        return StreamPlan(preamble, tuple(content), tuple(closing), b"data: [DONE]\n\n")

    def whole_reply(self, answer: Answer, *, model: str, request: Any) -> dict[str, Any]:
        """A ``chat.completion`` object with one choice."""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.text if answer.text or not answer.tool_calls else None,
            "refusal": None,
        }
        if answer.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": orjson.dumps(dict(c.arguments)).decode(),
                    },
                }
                for c in answer.tool_calls
            ]
        choice = {"index": 0, "message": message, "logprobs": None}
        choice["finish_reason"] = _finish_reason(answer)
        return {
            "id": f"chatcmpl-fake-{answer.id}",
            "object": "chat.completion",
            "created": _CREATED,
            "model": model,
            "choices": [choice],
            "usage": _usage(answer),
        }

    def error_body(
        self, status: int, *, model: str, message: str | None, code: str | None
    ) -> dict[str, Any]:
        """``{"error": {"message", "type", "param", "code"}}`` as OpenAI sends it."""
        kind, default_code, text = _ERRORS.get(status, ("server_error", None, "Server error."))
        return {
            "error": {
                "message": message if message is not None else text.format(model=model),
                "type": kind,
                "param": None,
                "code": code if code is not None else default_code,
            }
        }

    def malformed_frame(self) -> bytes:
        """A ``data:`` event whose JSON is cut in the middle."""
        return b'data: {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "choices": [{\n\n'

    def stream_error_frame(self, status: int) -> bytes:
        """An ``error`` object as a ``data:`` event (as OpenRouter sends mid-stream)."""
        return _sse(self.error_body(status, model="", message=None, code=None))

    def model_list(self, models: Sequence[str]) -> dict[str, Any]:
        """The ``GET /v1/models`` list object."""
        data = [
            {"id": m, "object": "model", "created": _CREATED, "owned_by": "fake"} for m in models
        ]
        return {"object": "list", "data": data}


class _Chunks:
    def __init__(self, answer_id: str, model: str) -> None:
        self._base = {
            "id": f"chatcmpl-fake-{answer_id}",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
        }

    def delta(self, delta: Mapping[str, Any], *, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish}
        return _sse({**self._base, "choices": [choice]})

    def usage(self, usage: Mapping[str, int]) -> bytes:
        return _sse({**self._base, "choices": [], "usage": dict(usage)})


def _finish_reason(answer: Answer) -> str:
    return "tool_calls" if answer.tool_calls else "stop"


def _usage(answer: Answer) -> dict[str, int]:
    completion = answer.completion_tokens or 0
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": answer.prompt_tokens + completion,
    }


class FakeOpenAIServer(FakeProviderServer):
    """A fault-injecting OpenAI-compatible server on 127.0.0.1 (ephemeral port).

    Example::

        with FakeOpenAIServer(models=["gpt-x"]) as fake:
            fake.script(HttpError(429, retry_after=1), key="sk-a")
            fake.always(HangBeforeHeaders(), model="slow-model")
            ...  # point a client at fake.url; inspect fake.requests
    """

    def __init__(
        self,
        *,
        models: Sequence[str] = ("fake-model",),
        default: Scripted | None = None,
        hang_limit_s: float = 30.0,
        reset_pause_s: float = 0.05,
        fault_answer: Answer | None = None,
    ) -> None:
        super().__init__(
            OpenAIDialect(),
            models=models,
            default=default,
            hang_limit_s=hang_limit_s,
            reset_pause_s=reset_pause_s,
            fault_answer=fault_answer,
        )
