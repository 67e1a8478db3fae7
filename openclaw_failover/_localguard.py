"""The local-tier tool guard on an answer's chunks: tool calls are held until complete, then
passed through, or replaced by a plain-text refusal when the core's policy blocks them.

A ``tool_call``'s target is known only once its arguments arrived, so every tool-call delta of
a local answer is held until the choice finishes (or the stream ends).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._toolpolicy import is_blocked

__all__ = ["REFUSAL", "LocalToolGuard"]

REFUSAL = (
    "[openclaw-failover] The call to the tool '{name}' was refused: high-risk tools are "
    "switched off while the local fallback model is answering.\n"
)

Chunk = dict[str, Any]


class LocalToolGuard:
    """Rewrites one answer's chunks; ``blocked`` lists the refused tool names in order."""

    def __init__(self, policy: frozenset[str], removed: tuple[str, ...]) -> None:
        self._policy = policy | frozenset(name.lower() for name in removed)
        self._calls: dict[int, dict[str, Any]] = {}
        self._template: Chunk | None = None
        self._allowed_last = True
        self.blocked: list[str] = []

    def feed(self, chunk: Chunk) -> list[Chunk]:
        """The chunks to pass on for ``chunk`` (held tool-call deltas come out at the finish)."""
        choices = chunk.get("choices")
        if not choices:
            return [chunk]
        out: list[Chunk] = []
        kept = [self._choice(choice, chunk, out) for choice in choices]
        if any(_meaningful(c) for c in kept):
            out.append({**chunk, "choices": kept})
        return out

    def _choice(self, choice: Any, chunk: Chunk, out: list[Chunk]) -> Any:
        """One choice without its tool-call deltas; releases held calls at its finish."""
        if not isinstance(choice, dict):
            return choice
        delta = choice.get("delta")
        calls = delta.get("tool_calls") if isinstance(delta, dict) else None
        if isinstance(delta, dict) and isinstance(calls, list) and calls:
            self._hold(calls, chunk)
            choice = {**choice, "delta": {k: v for k, v in delta.items() if k != "tool_calls"}}
        if choice.get("finish_reason") is not None and self._calls:
            out.extend(self._release(chunk, choice.get("index", 0)))
            if not self._allowed_last and choice["finish_reason"] == "tool_calls":
                choice = {**choice, "finish_reason": "stop"}
        return choice

    def finish(self) -> list[Chunk]:
        """Whatever is still held when the stream ends without a finish reason."""
        if not self._calls or self._template is None:
            return []
        return self._release(self._template, 0)

    def _hold(self, calls: list[Any], chunk: Chunk) -> None:
        self._template = chunk
        for delta in calls:
            if not isinstance(delta, Mapping):
                continue
            index = int(delta.get("index", 0))
            call = self._calls.setdefault(
                index, {"index": index, "id": "", "type": "function", "name": "", "arguments": ""}
            )
            call["id"] = delta.get("id") or call["id"]
            fn = delta.get("function")
            if isinstance(fn, Mapping):
                call["name"] += fn.get("name") or ""
                call["arguments"] += fn.get("arguments") or ""

    def _release(self, template: Chunk, choice_index: int) -> list[Chunk]:
        allowed: list[dict[str, Any]] = []
        refusals: list[str] = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if is_blocked(call["name"], call["arguments"] or "{}", self._policy):
                self.blocked.append(call["name"])
                refusals.append(REFUSAL.format(name=call["name"]))
            else:
                allowed.append(
                    {
                        "index": len(allowed),
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]},
                    }
                )
        self._calls.clear()
        self._allowed_last = bool(allowed)
        out: list[Chunk] = []
        if refusals:
            out.append(_with_delta(template, choice_index, {"content": "".join(refusals)}))
        if allowed:
            out.append(_with_delta(template, choice_index, {"tool_calls": allowed}))
        return out


def _with_delta(template: Chunk, index: int, delta: dict[str, Any]) -> Chunk:
    choice = {"index": index, "delta": delta, "finish_reason": None}
    return {**{k: v for k, v in template.items() if k != "usage"}, "choices": [choice]}


def _meaningful(choice: Any) -> bool:
    if not isinstance(choice, dict):
        return True
    delta = choice.get("delta")
    return bool(delta) or choice.get("finish_reason") is not None
