"""Pieces both translations share: request-field errors, text and tool-argument coercion, and
the builder of OpenAI ``chat.completion.chunk`` dicts (OpenAI API reference, "The chat
completion chunk object")."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class TranslationError(ValueError):
    """A request field that cannot be expressed in the upstream's format."""

    def __init__(self, field_path: str, found: str, expected: str) -> None:
        self.field_path = field_path
        self.found = found
        self.expected = expected
        super().__init__(f"{field_path}: found {found}; expected {expected}")

    def as_error_body(self) -> str:
        """An OpenAI-style 400 error body naming the field (classified as ``format``)."""
        error = {"type": "invalid_request_error", "param": self.field_path, "message": str(self)}
        return json.dumps({"error": error})


#: The chat roles both translations accept.
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")


def message_role(message: Any, index: int) -> str:
    """``messages[index].role``; a TranslationError naming what was found unless it is one of
    :data:`CHAT_ROLES` (a role of any JSON type, an object or a list included)."""
    role = message.get("role") if isinstance(message, dict) else None
    if not isinstance(role, str) or role not in CHAT_ROLES:
        raise TranslationError(
            f"messages[{index}].role", repr(role), "system, developer, user, assistant or tool"
        )
    return role


#: Text-bearing content part types -> the field holding their text (an assistant message may
#: carry its refusal as a part).
_TEXT_PARTS = {"text": "text", "input_text": "text", "output_text": "text", "refusal": "refusal"}


def part_text(part: Any) -> str | None:
    """The text of one content part, or None when it is not a text-bearing part."""
    kind = part.get("type") if isinstance(part, dict) else None
    field = _TEXT_PARTS.get(kind) if isinstance(kind, str) else None
    return None if field is None else str(part.get(field, ""))


def text_of(content: Any, where: str) -> str:
    """The text of an OpenAI message ``content``: a string, text parts, or nothing."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            text = part_text(part)
            if text is None:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise TranslationError(f"{where}[{j}].type", repr(kind), "a text part")
            texts.append(text)
        return "".join(texts)
    raise TranslationError(where, type(content).__name__, "a string or a list of text parts")


def tool_arguments_object(arguments: Any) -> dict[str, Any]:
    """OpenAI tool-call ``arguments`` (a JSON string) as the object other APIs want.

    Arguments that are not a JSON object (a model's truncated output, kept in the history) go
    through as ``{"_raw_arguments": text}``: OpenAI accepts any string there, so refusing it
    here would turn a failover into a rejected request.
    """
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else None
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"_raw_arguments": str(arguments)}


def data_url_parts(url: str) -> tuple[str, str] | None:
    """``(media_type, base64 data)`` of a ``data:<type>;base64,<data>`` URL, else None."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding != "base64":
        return None
    return media_type or "application/octet-stream", data


def compact_json(value: Any) -> str:
    """``value`` as compact JSON text (tool-call arguments as OpenAI carries them)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_call_id() -> str:
    """A fresh OpenAI-style tool-call id."""
    return "call_" + uuid.uuid4().hex[:24]


@dataclass(slots=True)
class ChunkBuilder:
    """Makes ``chat.completion.chunk`` dicts that share one id, model and creation time."""

    model: str = ""
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))
    new_id: Callable[[], str] = new_call_id

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        """One chunk with a single choice."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        """The closing usage chunk (no choices), as ``stream_options.include_usage`` sends it."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def tool_call_start(
        self, index: int, call_id: str, name: str, arguments: str = ""
    ) -> dict[str, Any]:
        """The first delta of a tool call: its id, name and (maybe) its first arguments."""
        call = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        return self.chunk({"tool_calls": [call]})

    def tool_call_arguments(self, index: int, arguments: str) -> dict[str, Any]:
        """A later delta of a tool call's argument string."""
        return self.chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})
