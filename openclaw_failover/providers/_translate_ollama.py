"""OpenAI chat-completions <-> Ollama's native ``/api/chat``, as pure functions over dicts.

Source: Ollama ``docs/api.md``, "Generate a chat completion" (parameters ``messages``,
``tools``, ``format``, ``options``, ``stream``, ``keep_alive``; the message fields ``role``,
``content``, ``images``, ``tool_calls``; the examples "Chat Request (Streaming)" and "Chat
request (with tools)", where ``arguments`` is an object and a call has no id), "Generate request
(With options)" (the ``options`` names such as ``num_predict``), "Streaming responses" (NDJSON)
and "List Local Models" (``GET /api/tags``). Tool results name their tool in ``tool_name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._translate_common import (
    ChunkBuilder,
    TranslationError,
    compact_json,
    data_url_parts,
    message_role,
    part_text,
    text_of,
    tool_arguments_object,
)

#: OpenAI request field -> Ollama ``options`` field.
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}


def ollama_request(
    body: Mapping[str, Any], *, model: str, keep_alive: str | int | None = None
) -> dict[str, Any]:
    """The ``/api/chat`` body for an OpenAI chat-completions ``body`` (always streamed)."""
    out: dict[str, Any] = {
        "model": model,
        "messages": _messages(body.get("messages")),
        "stream": True,
        # Report an over-long prompt instead of silently dropping history (both default to true
        # in Ollama's ChatRequest), so it classifies as context_overflow and fails over; real
        # OpenClaw 2026.9.6's own Ollama client sends the same two flags.
        "truncate": bool(body.get("truncate", False)),
        "shift": bool(body.get("shift", False)),
    }
    if isinstance(body.get("think"), bool | str):
        out["think"] = body["think"]
    options = {
        target: body[name] for name, target in _OPTIONS.items() if body.get(name) is not None
    }
    limit = body.get("max_completion_tokens")  # OpenAI's newer name; null means not given
    if limit is None:
        limit = body.get("max_tokens")
    if limit is not None:
        options["num_predict"] = limit
    stop = body.get("stop")
    if stop:
        options["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if options:
        out["options"] = options
    if body.get("tools") and body.get("tool_choice") != "none":
        out["tools"] = [_tool(tool, i) for i, tool in enumerate(body["tools"])]
    response_format = _format(body.get("response_format"))
    if response_format is not None:
        out["format"] = response_format
    keep = body.get("keep_alive", keep_alive)
    if keep is not None:
        out["keep_alive"] = keep
    return out


def _messages(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise TranslationError("messages", type(raw).__name__, "a non-empty list")
    names: dict[str, str] = {}  # tool-call id -> tool name, for the tool results
    out = []
    for i, message in enumerate(raw):
        message_role(message, i)
        item = _message(message, i, names)
        out.append(item)
    return out


def _message(message: Mapping[str, Any], i: int, names: dict[str, str]) -> dict[str, Any]:
    role = "system" if message["role"] == "developer" else message["role"]
    text, images = _content(message.get("content"), i)
    item: dict[str, Any] = {"role": role, "content": text}
    if images:
        item["images"] = images
    if role == "assistant" and message.get("tool_calls"):
        item["tool_calls"] = [
            _call(call, i, j, names) for j, call in enumerate(message["tool_calls"])
        ]
    if role == "tool":
        name = names.get(str(message.get("tool_call_id")), message.get("name"))
        if name:
            item["tool_name"] = name
    return item


def _content(content: Any, i: int) -> tuple[str, list[str]]:
    if not isinstance(content, list):
        return text_of(content, f"messages[{i}].content"), []
    texts, images = [], []
    for j, part in enumerate(content):
        text = part_text(part)
        if text is not None:
            texts.append(text)
            continue
        kind = part.get("type") if isinstance(part, dict) else None
        url = (part.get("image_url") or {}).get("url") if kind == "image_url" else None
        parts = data_url_parts(url) if isinstance(url, str) else None
        if parts is None:  # Ollama takes base64 images only, never URLs
            raise TranslationError(
                f"messages[{i}].content[{j}]", repr(kind), "a text part or a base64 data: image"
            )
        images.append(parts[1])
    return "".join(texts), images


def _call(call: Any, i: int, j: int, names: dict[str, str]) -> dict[str, Any]:
    where = f"messages[{i}].tool_calls[{j}]"
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not function.get("name"):
        raise TranslationError(f"{where}.function", repr(function), "{name, arguments}")
    if call.get("id"):
        names[str(call["id"])] = str(function["name"])
    arguments = tool_arguments_object(function.get("arguments"))
    return {"function": {"name": function["name"], "arguments": arguments}}


def _tool(tool: Any, i: int) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or not function.get("name"):
        raise TranslationError(f"tools[{i}].function", repr(function), "{name, parameters}")
    return {"type": "function", "function": dict(function)}


def _format(response_format: Any) -> str | dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return "json"
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else "json"
    return None


# ----------------------------------------------------------------------------- responses


class OllamaStreamError(Exception):
    """An ``{"error": ...}`` line inside a 200 NDJSON stream."""


@dataclass(slots=True)
class OllamaStreamState:
    """What the translation remembers between NDJSON lines."""

    builder: ChunkBuilder = field(default_factory=ChunkBuilder)
    started: bool = False
    tool_calls: int = 0
    finished: bool = False


def ollama_line_chunks(state: OllamaStreamState, line: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The OpenAI chunks for one Ollama NDJSON object (or a whole non-streamed reply).

    Raises :class:`OllamaStreamError` for an ``error`` object.
    """
    if line.get("error"):
        raise OllamaStreamError(str(line["error"]))
    builder = state.builder
    chunks: list[dict[str, Any]] = []
    if not state.started:
        state.started = True
        builder.model = str(line.get("model") or builder.model)
        chunks.append(builder.chunk({"role": "assistant", "content": ""}))
    message = line.get("message") or {}
    if message.get("thinking"):  # reasoning models with ``think`` on (qwen3, deepseek-r1)
        chunks.append(builder.chunk({"reasoning_content": str(message["thinking"])}))
    if message.get("content"):
        chunks.append(builder.chunk({"content": str(message["content"])}))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        arguments = function.get("arguments")
        text = arguments if isinstance(arguments, str) else compact_json(arguments or {})
        call_id = str(call.get("id") or builder.new_id())  # Ollama calls carry no id
        chunks.append(
            builder.tool_call_start(state.tool_calls, call_id, str(function.get("name", "")), text)
        )
        state.tool_calls += 1
    if line.get("done"):
        chunks.extend(_finish(state, line))
    return chunks


def _finish(state: OllamaStreamState, line: Mapping[str, Any]) -> list[dict[str, Any]]:
    if state.finished:
        return []
    state.finished = True
    reason = "length" if line.get("done_reason") == "length" else "stop"
    if state.tool_calls:
        reason = "tool_calls"
    prompt, completion = int(line.get("prompt_eval_count") or 0), int(line.get("eval_count") or 0)
    return [state.builder.chunk({}, reason), state.builder.usage(prompt, completion)]


def tags_model_names(tags: Mapping[str, Any]) -> list[str]:
    """Model names from a ``GET /api/tags`` reply (``models[].name``, else ``.model``)."""
    models = tags.get("models") or []
    names = [m.get("name") or m.get("model") for m in models if isinstance(m, dict)]
    return [str(name) for name in names if name]
