"""The local-tier tool guard on an answer's chunks: tool calls are held until complete, then
passed through, or replaced by a plain-text refusal when the core's policy blocks them.

A ``tool_call``'s target is known only once its arguments arrived, so every tool-call delta of
a local answer is held until its choice finishes (or the stream ends). The guard passes on its
own whole copy of each call, never the upstream's deltas, so the caller runs exactly the call
that was checked, however the upstream split or numbered it. A high-risk call written in the
answer's text, which OpenClaw runs too, gets a refusal after it at the choice's finish.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._toolpolicy import blocked_name, text_call_words

__all__ = ["REFUSAL", "LocalToolGuard"]

REFUSAL = (
    "[openclaw-failover] The call to the tool '{name}' was refused: high-risk tools are "
    "switched off while the local fallback model is answering.\n"
)

Chunk = dict[str, Any]
Call = dict[str, Any]

#: Delta fields that carry a call: held until the choice finishes. ``function_call`` is the
#: legacy OpenAI form, which some servers and clients still speak.
_HELD_FIELDS = frozenset({"tool_calls", "function_call"})
_CALL_FINISHES = ("tool_calls", "function_call")


class LocalToolGuard:
    """Rewrites one answer's chunks; ``blocked`` lists the refused tools in order, by the
    policy's name for them (never the model's own spelling, which is audited)."""

    def __init__(self, policy: frozenset[str], removed: tuple[str, ...]) -> None:
        self._policy = policy | frozenset(name.lower() for name in removed)
        #: Held calls per choice index, in the order they started.
        self._calls: dict[int, list[Call]] = {}
        self._template: Chunk | None = None
        #: Choices whose every held call was refused (their ``tool_calls`` finish becomes stop).
        self._all_refused: set[int] = set()
        #: Each choice's text so far: a call written in it is refused at its finish.
        self._text: dict[int, list[str]] = {}
        self.blocked: list[str] = []

    def feed(self, chunk: Chunk) -> list[Chunk]:
        """The chunks to pass on for ``chunk`` (held tool-call deltas come out at the finish)."""
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return [chunk]
        out: list[Chunk] = []
        kept = [self._choice(choice, chunk, out) for choice in choices]
        if any(_meaningful(c) for c in kept):
            out.append({**chunk, "choices": kept})
        return out

    def _choice(self, choice: Any, chunk: Chunk, out: list[Chunk]) -> Any:
        """One choice without its tool-call deltas; releases its held calls at its finish."""
        if not isinstance(choice, dict):
            return choice
        index = _index(choice.get("index")) or 0
        delta = choice.get("delta")
        if isinstance(delta, dict) and _HELD_FIELDS & delta.keys():
            self._hold(index, delta, chunk)
            choice = {**choice, "delta": {k: v for k, v in delta.items() if k not in _HELD_FIELDS}}
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            self._template = chunk
            self._text.setdefault(index, []).append(delta["content"])
        finish = choice.get("finish_reason")
        if finish is not None and index in self._calls:
            out.extend(self._release(chunk, index))
        if finish is not None and index in self._text:
            choice = _with_text(choice, self._text_refusal(index))
        if finish in _CALL_FINISHES and index in self._all_refused:
            choice = {**choice, "finish_reason": "stop"}
        return choice

    def finish(self) -> list[Chunk]:
        """Whatever is still held when the stream ends without a finish reason."""
        if self._template is None:
            return []
        template = self._template
        out = [chunk for index in sorted(self._calls) for chunk in self._release(template, index)]
        for index in sorted(self._text):
            refusal = self._text_refusal(index)
            if refusal:
                out.append(_with_delta(template, index, {"content": refusal}))
        return out

    def _text_refusal(self, choice_index: int) -> str:
        """A refusal for each high-risk call written in the choice's text, else "".

        OpenClaw 2026.9.6 runs a text that is nothing but calls as those calls. The refusal
        comes after them, so the text is no longer only calls and nothing is run.
        """
        words = text_call_words("".join(self._text.pop(choice_index, ())), self._policy)
        self.blocked.extend(words)
        return "".join(["\n", *(REFUSAL.format(name=word) for word in words)]) if words else ""

    def _hold(self, choice_index: int, delta: Mapping[str, Any], chunk: Chunk) -> None:
        self._template = chunk
        held = self._calls.setdefault(choice_index, [])
        calls = delta.get("tool_calls")
        for call_delta in calls if isinstance(calls, list) else [calls]:
            if isinstance(call_delta, Mapping):
                _add(_call_for(held, call_delta), call_delta.get("function"))
        legacy = delta.get("function_call")
        if isinstance(legacy, Mapping):
            _add(_legacy_call(held), legacy)

    def _release(self, template: Chunk, choice_index: int) -> list[Chunk]:
        allowed: list[dict[str, Any]] = []
        legacy: list[Chunk] = []
        refusals: list[str] = []
        for call in self._calls.pop(choice_index, []):
            refused = blocked_name(_run_name(call), call["arguments"] or "{}", self._policy)
            if refused is not None:
                self.blocked.append(refused)
                refusals.append(REFUSAL.format(name=refused))
            elif call["legacy"]:
                fn = {"name": call["name"], "arguments": call["arguments"]}
                legacy.append(_with_delta(template, choice_index, {"function_call": fn}))
            else:
                allowed.append(
                    {
                        "index": len(allowed),
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]},
                    }
                )
        if refusals and not allowed and not legacy:
            self._all_refused.add(choice_index)
        out: list[Chunk] = []
        if refusals:
            out.append(_with_delta(template, choice_index, {"content": "".join(refusals)}))
        if allowed:
            out.append(_with_delta(template, choice_index, {"tool_calls": allowed}))
        return out + legacy


def _run_name(call: Call) -> str:
    """The name the host runs ``call`` by: its own, or its id when the name is blank.

    OpenClaw 2026.9.6 reads the tool from the id of a call whose name trims to nothing
    (``functions.exec:0`` runs ``exec``); JavaScript's trim takes a BOM, Python's strip not.
    """
    name: str = call["name"]
    if any(not char.isspace() and char != "\ufeff" for char in name):
        return name
    return str(call["id"])


def _call_for(held: list[Call], delta: Mapping[str, Any]) -> Call:
    """The held call a tool-call delta continues, or a new one.

    A delta continues the latest call with its ``index`` (the latest call at all when it has
    none), unless it brings an ``id`` other than that call's: a server that numbers every call
    0 starts each with its own id, and gluing two calls into one would run neither.
    """
    index = _index(delta.get("index"))
    call_id = delta.get("id") if isinstance(delta.get("id"), str) else ""
    same = [c for c in held if index is None or c["index"] == index]
    call = same[-1] if same else None
    if call is None or (call_id and call["id"] and call_id != call["id"]):
        call = {"index": index, "id": "", "name": "", "arguments": "", "legacy": False}
        held.append(call)
    call["id"] = call_id or call["id"]
    return call


def _legacy_call(held: list[Call]) -> Call:
    """The call a legacy ``function_call`` delta continues (there is one per choice)."""
    for call in held:
        if call["legacy"]:
            return call
    call = {"index": None, "id": "", "name": "", "arguments": "", "legacy": True}
    held.append(call)
    return call


def _add(call: Call, fn: Any) -> None:
    """Append a delta's name and arguments fragments to the held call."""
    if isinstance(fn, Mapping):
        call["name"] += _text(fn.get("name"))
        call["arguments"] += _text(fn.get("arguments"))


def _text(value: Any) -> str:
    """A name or arguments fragment as text: arguments sent as an object become JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return ""


def _index(value: Any) -> int | None:
    """An ``index`` field when it is an integer; None when missing or malformed."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _with_text(choice: dict[str, Any], text: str) -> dict[str, Any]:
    """``choice`` with ``text`` after its delta's content (the choice itself when empty)."""
    if not text:
        return choice
    delta = choice.get("delta")
    delta = delta if isinstance(delta, dict) else {}
    return {**choice, "delta": {**delta, "content": (delta.get("content") or "") + text}}


def _with_delta(template: Chunk, index: int, delta: dict[str, Any]) -> Chunk:
    choice = {"index": index, "delta": delta, "finish_reason": None}
    return {**{k: v for k, v in template.items() if k != "usage"}, "choices": [choice]}


def _meaningful(choice: Any) -> bool:
    if not isinstance(choice, dict):
        return True
    delta = choice.get("delta")
    return bool(delta) or choice.get("finish_reason") is not None
