"""OpenAI chat-completions <-> Anthropic Messages, as pure functions over plain dicts.

Sources: Anthropic API reference, "Messages" (request fields ``system``, ``messages``,
``max_tokens``, ``tools``, ``tool_choice``, ``stop_sequences``; content blocks ``text``,
``image``, ``tool_use``, ``tool_result``), "Streaming Messages" (event flow message_start,
content_block_start/delta/stop with ``text_delta`` and ``input_json_delta``, message_delta with
``stop_reason`` and ``usage``, message_stop, ping, error) and "Errors" (the error object).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._translate_common import (
    TranslationError,
    data_url_parts,
    message_role,
    part_text,
    text_of,
    tool_arguments_object,
)

#: Anthropic ``stop_reason`` -> OpenAI ``finish_reason`` ("Messages", response ``stop_reason``).
FINISH_REASONS: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


def tool_use_id(call_id: str) -> str:
    """A tool-call id Anthropic accepts (``^[a-zA-Z0-9_-]+$``). Ids from other vendors in the
    history (e.g. ``functions.read:0``) are mapped the same way on the tool_use and on its
    tool_result, so the pair still matches after a cross-vendor failover."""
    return _UNSAFE_ID.sub("_", call_id)


def anthropic_request(
    body: Mapping[str, Any], *, model: str, default_max_tokens: int = 4096
) -> dict[str, Any]:
    """The Anthropic Messages body for an OpenAI chat-completions ``body`` (always streamed)."""
    system, messages = _messages(body.get("messages"))
    out: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": _max_tokens(body, default_max_tokens),
        "stream": True,
    }
    if system:
        out["system"] = system
    temperature = body.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise TranslationError("temperature", repr(temperature)[:40], "a number from 0 to 2")
        out["temperature"] = min(float(temperature), 1.0)  # Anthropic's range is 0..1
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = [_tool(tool, i) for i, tool in enumerate(body["tools"])]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and out.get("tools"):
        out["tool_choice"] = choice
    user = body.get("user") or (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    return out


def _max_tokens(body: Mapping[str, Any], default: int) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TranslationError(name, repr(value), "a positive integer")
            return value
    return default


def _messages(raw: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        raise TranslationError("messages", type(raw).__name__, "a non-empty list")
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        role = message_role(message, i)
        if role in ("system", "developer"):
            system.append(text_of(message.get("content"), f"messages[{i}].content"))
            continue
        if role == "tool":
            turn_role, blocks = "user", [_tool_result(message, i)]
        elif role == "user":
            turn_role, blocks = "user", _user_blocks(message.get("content"), i)
        else:
            turn_role, blocks = "assistant", _assistant_blocks(message, i)
        # The API refuses a text block that is empty or only whitespace ("text content blocks
        # must contain non-whitespace text"); a turn with nothing left carries nothing.
        blocks = [b for b in blocks if b.get("type") != "text" or str(b.get("text")).strip()]
        if not blocks:
            continue
        if out and out[-1]["role"] == turn_role:  # Anthropic wants user/assistant turns
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": turn_role, "content": blocks})
    return "\n\n".join(s for s in system if s), out


def _user_blocks(content: Any, i: int) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise TranslationError(f"messages[{i}].content", type(content).__name__, "text or parts")
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        text = part_text(part)
        if text is not None:
            blocks.append({"type": "text", "text": text})
        elif kind == "image_url":
            blocks.append(_image(part.get("image_url"), f"messages[{i}].content[{j}]"))
        else:
            raise TranslationError(
                f"messages[{i}].content[{j}].type", repr(kind), "text or image_url"
            )
    return blocks


def _image(image: Any, where: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise TranslationError(f"{where}.image_url.url", repr(url), "a URL or a data: URL")
    parts = data_url_parts(url)
    if parts is None:
        return {"type": "image", "source": {"type": "url", "url": url}}
    media_type, data = parts
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _assistant_blocks(message: Mapping[str, Any], i: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = text_of(message.get("content"), f"messages[{i}].content")
    if text:
        blocks.append({"type": "text", "text": text})
    for j, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_use_id(str(call.get("id") or f"call_{i}_{j}")),
                "name": str(function.get("name", "")),
                "input": tool_arguments_object(function.get("arguments")),
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any], i: int) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError(f"messages[{i}].tool_call_id", repr(call_id), "the tool call's id")
    content = text_of(message.get("content"), f"messages[{i}].content")
    return {"type": "tool_result", "tool_use_id": tool_use_id(call_id), "content": content}


def _tool(tool: Any, i: int) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or not function.get("name"):
        raise TranslationError(f"tools[{i}].function", repr(function), "{name, parameters}")
    out: dict[str, Any] = {
        "name": function["name"],
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice is None and parallel is None:
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        out: dict[str, Any] = {"type": "tool", "name": name}
    else:
        mapped = {"auto": "auto", "required": "any", "none": "none"}.get(str(choice), "auto")
        out = {"type": mapped}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out
