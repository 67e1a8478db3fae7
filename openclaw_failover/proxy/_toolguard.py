"""The local-tier tool guard on the provider path, as a ``Transport`` wrapper.

When a local-tier candidate is called, high-risk tools are removed from ``tools`` before the
request goes upstream, and any tool call the local model emits anyway (a removed tool, or a
``tool_call`` aimed at a high-risk deferred tool) is replaced by a plain-text refusal. The
list and the decisions are the core's (``_toolpolicy``); this module applies them on the wire.
Tool-call deltas of a local answer are held until the call is complete, because a
``tool_call``'s target is only known once its arguments have arrived.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from .._model import Profile, Provider, Tier, ToolSettings
from .._ports import MalformedEvent, Transport, UpstreamCall, UpstreamReply
from .._toolpolicy import filter_tools, high_risk_set, is_blocked, tool_call_target
from ._context import current_request

REFUSAL = (
    "[openclaw-failover] The call to the tool '{name}' was refused: high-risk tools are "
    "switched off while the local fallback model is answering.\n"
)


@functools.lru_cache(maxsize=8)
def guard_policy(tools: ToolSettings) -> frozenset[str]:
    """The core's high-risk set for a ``tools`` settings block (cached per block)."""
    return high_risk_set(tools)


OnBlocked = Callable[[UpstreamCall, str, str], None]  # (call, tool, "removed" | "refused")


class _CallBuffer:
    """Tool-call deltas of one answer, assembled by index until the call is complete."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, deltas: list[Any]) -> None:
        for delta in deltas:
            index = int(delta.get("index", 0))
            call = self.calls.setdefault(
                index,
                {
                    "index": index,
                    "id": "",
                    "type": "function",
                    "function": {"name": "", "arguments": ""},
                },
            )
            if delta.get("id"):
                call["id"] = delta["id"]
            fn = delta.get("function") or {}
            call["function"]["name"] += fn.get("name") or ""
            call["function"]["arguments"] += fn.get("arguments") or ""

    def resolve(self, policy: frozenset[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """The allowed calls (re-indexed) and the names of the refused ones."""
        allowed: list[dict[str, Any]] = []
        refused: list[str] = []
        for _, call in sorted(self.calls.items()):
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            if is_blocked(name, arguments, policy):
                refused.append(_label(name, arguments))
            else:
                allowed.append({**call, "index": len(allowed)})
        self.calls.clear()
        return allowed, refused


def _label(name: str, arguments: str) -> str:
    if name.strip().lower() != "tool_call":
        return name
    return f"{name}:{tool_call_target(arguments) or '?'}"


def _resolved_chunk(
    template: Mapping[str, Any],
    allowed: list[dict[str, Any]],
    refused: list[str],
    finish: str | None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if refused:
        delta["content"] = "".join(REFUSAL.format(name=name) for name in refused)
    if allowed:
        delta["tool_calls"] = allowed
    if finish == "tool_calls" and not allowed:
        finish = "stop"
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {**template, "choices": [choice]}


class _GuardedReply:
    """An upstream reply whose tool calls pass the guard before the engine sees them."""

    def __init__(
        self,
        inner: UpstreamReply,
        call: UpstreamCall,
        policy: frozenset[str],
        on_blocked: OnBlocked,
    ) -> None:
        self._inner = inner
        self._call = call
        self._policy = policy
        self._on_blocked = on_blocked

    @property
    def status(self) -> int:
        return self._inner.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._inner.headers

    async def error_excerpt(self, limit: int = 4096) -> str:
        return await self._inner.error_excerpt(limit)

    async def chunks(self) -> AsyncIterator[dict[str, Any] | MalformedEvent]:
        buffer = _CallBuffer()
        template: dict[str, Any] = {}
        async for item in self._inner.chunks():
            if isinstance(item, MalformedEvent) or not item.get("choices"):
                yield item
                continue
            template = {k: v for k, v in item.items() if k != "choices"}
            choice = item["choices"][0]
            delta = choice.get("delta") or {}
            finish = choice.get("finish_reason")
            if delta.get("tool_calls"):
                buffer.add(delta["tool_calls"])
                rest = {k: v for k, v in delta.items() if k != "tool_calls"}
                if rest.get("content") or rest.get("role"):
                    yield {
                        **template,
                        "choices": [{**choice, "delta": rest, "finish_reason": None}],
                    }
                if finish is None:
                    continue
            if finish is not None and buffer.calls:
                yield self._flush(buffer, template, finish)
                continue
            yield item
        if buffer.calls:  # a stream that ended without a finish reason
            yield self._flush(buffer, template, "tool_calls")

    def _flush(
        self, buffer: _CallBuffer, template: Mapping[str, Any], finish: str
    ) -> dict[str, Any]:
        allowed, refused = buffer.resolve(self._policy)
        for name in refused:
            self._on_blocked(self._call, name, "refused")
        return _resolved_chunk(template, allowed, refused, finish)


class GuardedTransport:
    """Applies the local-tier tool guard to calls whose candidate is in the local tier."""

    def __init__(
        self, inner: Transport, policy: Callable[[], frozenset[str]], on_blocked: OnBlocked
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._on_blocked = on_blocked

    @asynccontextmanager
    async def send(self, call: UpstreamCall) -> AsyncIterator[UpstreamReply]:
        """Send ``call``; on the local tier, without high-risk tools and with calls guarded."""
        if call.candidate.tier != Tier.LOCAL:
            async with self._inner.send(call) as reply:
                yield reply
            return
        policy = self._policy()
        body, removed = filter_tools(call.body, policy)
        guarded = replace(call, body=body) if removed else call
        for name in removed:
            self._on_blocked(call, name, "removed")
        ctx = current_request.get()
        if ctx is not None:
            ctx.blocked.extend(n for n in removed if n not in ctx.blocked)
        async with self._inner.send(guarded) as reply:
            yield _GuardedReply(reply, call, policy, self._on_blocked)

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """Passed through."""
        return await self._inner.list_models(provider, profile)
