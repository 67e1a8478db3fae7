"""Anthropic Messages stream events (and whole messages) -> OpenAI chunks, one event at a time.

Source: Anthropic API reference, "Streaming Messages": a stream is message_start, then per
content block a content_block_start, content_block_delta events (``text_delta``,
``input_json_delta`` with ``partial_json``, ``thinking_delta``, ``signature_delta``) and a
content_block_stop, then message_delta (``stop_reason``, cumulative ``usage``) and message_stop.
``ping`` may come at any time; an ``error`` event (e.g. ``overloaded_error``) may replace the
rest of the stream. Unknown event types must be tolerated (the versioning policy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._translate_anthropic import FINISH_REASONS
from ._translate_common import ChunkBuilder, compact_json


class AnthropicStreamError(Exception):
    """An ``error`` event inside a 200 stream: ``error_type`` is Anthropic's error type."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")


@dataclass(slots=True)
class AnthropicStreamState:
    """What the translation remembers between events: ids, tool-call slots and usage."""

    builder: ChunkBuilder = field(default_factory=ChunkBuilder)
    tool_slots: dict[int, int] = field(default_factory=dict)  # block index -> tool_calls index
    argued: set[int] = field(default_factory=set)  # tool_calls indexes given any arguments
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    started: bool = False
    finished: bool = False


def anthropic_event_chunks(
    state: AnthropicStreamState, event_type: str, data: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The OpenAI chunks for one Anthropic stream event (often none).

    Raises :class:`AnthropicStreamError` for an ``error`` event.
    """
    kind = str(data.get("type") or event_type)
    if kind == "message_start":
        return _message_start(state, data.get("message") or {})
    if kind.startswith("content_block_"):
        return _block_event(state, kind, data)
    if kind == "message_delta":
        _message_delta(state, data)
        return []
    if kind == "message_stop":
        return finish_chunks(state)
    if kind == "error":
        error = data.get("error") or {}
        raise AnthropicStreamError(str(error.get("type", "error")), str(error.get("message", "")))
    return []  # ping, and event types added later


def _message_start(state: AnthropicStreamState, message: Mapping[str, Any]) -> list[dict[str, Any]]:
    builder = state.builder
    state.started = True
    builder.id = str(message.get("id") or builder.id)
    builder.model = str(message.get("model") or builder.model)
    usage = message.get("usage") or {}
    state.input_tokens = _input_tokens(usage)
    state.output_tokens = int(usage.get("output_tokens") or 0)
    return [builder.chunk({"role": "assistant", "content": ""})]


def _input_tokens(usage: Mapping[str, Any]) -> int:
    # Cached prompt tokens are billed separately but are still prompt tokens.
    names = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return sum(int(usage.get(name) or 0) for name in names)


def _block_event(
    state: AnthropicStreamState, kind: str, data: Mapping[str, Any]
) -> list[dict[str, Any]]:
    index = int(data.get("index", 0))
    if kind == "content_block_start":
        return _block_start(state, index, data.get("content_block") or {})
    if kind == "content_block_delta":
        return _block_delta(state, index, data.get("delta") or {})
    if kind == "content_block_stop":
        return _block_stop(state, index)
    return []


def _block_start(
    state: AnthropicStreamState, index: int, block: Mapping[str, Any]
) -> list[dict[str, Any]]:
    kind = block.get("type")
    if kind == "text" and block.get("text"):
        return [state.builder.chunk({"content": block["text"]})]
    if kind != "tool_use":
        return []
    slot = len(state.tool_slots)
    state.tool_slots[index] = slot
    call_id = str(block.get("id") or state.builder.new_id())
    # The start block carries ``input: {}``; the arguments arrive as input_json_delta events.
    return [state.builder.tool_call_start(slot, call_id, str(block.get("name", "")))]


def _block_delta(
    state: AnthropicStreamState, index: int, delta: Mapping[str, Any]
) -> list[dict[str, Any]]:
    kind = delta.get("type")
    if kind == "text_delta" and delta.get("text"):
        return [state.builder.chunk({"content": delta["text"]})]
    if kind == "input_json_delta" and index in state.tool_slots and delta.get("partial_json"):
        slot = state.tool_slots[index]
        state.argued.add(slot)
        return [state.builder.tool_call_arguments(slot, delta["partial_json"])]
    return []  # thinking, signatures and citations have no OpenAI chat field


def _block_stop(state: AnthropicStreamState, index: int) -> list[dict[str, Any]]:
    slot = state.tool_slots.get(index)
    return [] if slot is None else _empty_arguments(state, (slot,))


def _empty_arguments(state: AnthropicStreamState, slots: Iterable[int]) -> list[dict[str, Any]]:
    """``"{}"`` for each tool call that got no arguments: a call without parameters streams no
    (or only an empty) input_json_delta, and an OpenAI client parses ``arguments`` as JSON,
    which ``""`` is not (OpenAI itself sends ``"{}"``)."""
    chunks = []
    for slot in slots:
        if slot not in state.argued:
            state.argued.add(slot)
            chunks.append(state.builder.tool_call_arguments(slot, "{}"))
    return chunks


def _message_delta(state: AnthropicStreamState, data: Mapping[str, Any]) -> None:
    delta = data.get("delta") or {}
    if delta.get("stop_reason"):
        state.stop_reason = str(delta["stop_reason"])
    usage = data.get("usage") or {}
    if usage.get("output_tokens") is not None:  # cumulative, not a delta
        state.output_tokens = int(usage["output_tokens"])
    if _input_tokens(usage):
        state.input_tokens = _input_tokens(usage)


def finish_chunks(state: AnthropicStreamState) -> list[dict[str, Any]]:
    """The finish chunk and the usage chunk, once (a stream may end without message_stop).

    Nothing when the message never started: an empty 200 stays empty (``empty_response``).
    """
    if state.finished or not state.started:
        return []
    state.finished = True
    reason = FINISH_REASONS.get(state.stop_reason or "end_turn", "stop")
    if state.tool_slots and reason == "stop":
        reason = "tool_calls"
    builder = state.builder
    chunks = _empty_arguments(state, state.tool_slots.values())  # a block never stopped
    chunks.append(builder.chunk({}, reason))
    chunks.append(builder.usage(state.input_tokens, state.output_tokens))
    return chunks


def message_chunks(state: AnthropicStreamState, message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The chunks for a whole, non-streamed Anthropic message (a server that ignored stream)."""
    chunks = _message_start(state, message)
    blocks = message.get("content") or []
    for index, block in enumerate(blocks if isinstance(blocks, list) else []):
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "tool_use":
            slot = len(state.tool_slots)
            state.tool_slots[index] = slot
            call_id = str(block.get("id") or state.builder.new_id())
            arguments = compact_json(block.get("input") or {})
            state.argued.add(slot)
            chunks.append(
                state.builder.tool_call_start(slot, call_id, str(block.get("name", "")), arguments)
            )
        else:
            chunks.extend(_block_start(state, index, block))
    _message_delta(state, {"delta": message, "usage": message.get("usage") or {}})
    return chunks + finish_chunks(state)
