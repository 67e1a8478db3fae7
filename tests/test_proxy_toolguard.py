"""The local-tier tool guard on the provider path (a Transport wrapper)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from openclaw_failover._model import Candidate, Profile, Provider, Tier, ToolSettings
from openclaw_failover._ports import MalformedEvent, UpstreamCall
from openclaw_failover._toolpolicy import filter_tools
from openclaw_failover.proxy._context import RequestContext, current_request
from openclaw_failover.proxy._toolguard import GuardedTransport, guard_policy

POLICY = guard_policy(ToolSettings())


def policy() -> frozenset[str]:
    return POLICY


def tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


def delta_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "q",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def call_delta(index: int, name: str | None, args: str, call_id: str = "") -> dict[str, Any]:
    fn: dict[str, Any] = {"arguments": args}
    if name is not None:
        fn["name"] = name
    entry: dict[str, Any] = {"index": index, "function": fn}
    if call_id:
        entry["id"] = call_id
        entry["type"] = "function"
    return entry


@dataclass
class Reply:
    items: list[dict[str, Any]]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    async def error_excerpt(self, limit: int = 4096) -> str:
        return ""

    async def chunks(self) -> AsyncIterator[dict[str, Any] | MalformedEvent]:
        for item in self.items:
            yield item


@dataclass
class Recording:
    items: list[dict[str, Any]]
    bodies: list[Mapping[str, Any]] = field(default_factory=list)

    @asynccontextmanager
    async def send(self, call: UpstreamCall) -> AsyncIterator[Reply]:
        self.bodies.append(call.body)
        yield Reply(self.items)

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        return []


BODY = {
    "messages": [{"role": "user", "content": "x"}],
    "tools": [tool("exec"), tool("read"), tool("write"), tool("tool_call")],
    "tool_choice": {"type": "function", "function": {"name": "exec"}},
}


def make_call(tier: Tier) -> UpstreamCall:
    provider = Provider("ollama", "ollama", "http://127.0.0.1:9")
    return UpstreamCall(provider, Candidate("ollama", "q", tier), None, BODY)


async def run(
    tier: Tier, items: list[dict[str, Any]]
) -> tuple[Recording, list[Any], list[tuple[str, str]]]:
    inner = Recording(items)
    blocked: list[tuple[str, str]] = []
    guard = GuardedTransport(inner, policy, lambda c, t, k: blocked.append((t, k)))
    async with guard.send(make_call(tier)) as reply:
        out = [c async for c in reply.chunks()]
    return inner, out, blocked


def test_core_filter_removes_high_risk_and_fixes_tool_choice() -> None:
    """High-risk tools leave the body; a tool_choice naming one falls back to auto."""
    body, removed = filter_tools(BODY, POLICY)
    assert [t["function"]["name"] for t in body["tools"]] == ["read", "tool_call"]
    assert removed == ("exec", "write")
    assert body["tool_choice"] == "auto"
    assert BODY["tools"][0]["function"]["name"] == "exec"  # the caller's body is untouched


def test_core_filter_with_only_high_risk_drops_tools() -> None:
    """When every tool is high-risk, tools and tool_choice are dropped entirely."""
    body, removed = filter_tools(
        {"messages": [], "tools": [tool("exec")], "tool_choice": "auto"}, POLICY
    )
    assert removed == ("exec",)
    assert "tools" not in body
    assert "tool_choice" not in body


async def test_cloud_calls_pass_untouched() -> None:
    """A cloud-tier call keeps every tool and its tool calls."""
    items = [delta_chunk({"tool_calls": [call_delta(0, "exec", "{}", "call_1")]}, "tool_calls")]
    inner, out, blocked = await run(Tier.CLOUD, items)
    assert inner.bodies[0] is BODY
    assert out == items
    assert blocked == []


async def test_local_call_strips_tools_and_records_them() -> None:
    """On the local tier the upstream never sees exec/write, and the request records them."""
    token = current_request.set(RequestContext("r1", None, "auto"))
    try:
        inner, _, blocked = await run(Tier.LOCAL, [delta_chunk({"content": "hi"}, "stop")])
        ctx = current_request.get()
    finally:
        current_request.reset(token)
    names = [t["function"]["name"] for t in inner.bodies[0]["tools"]]
    assert names == ["read", "tool_call"]
    assert blocked == [("exec", "removed"), ("write", "removed")]
    assert ctx is not None
    assert ctx.blocked == ["exec", "write"]


async def test_emitted_removed_tool_call_becomes_refusal() -> None:
    """A local model calling exec anyway gets a plain-text refusal and finish_reason stop."""
    items = [
        delta_chunk({"role": "assistant", "tool_calls": [call_delta(0, "exec", "", "call_1")]}),
        delta_chunk({"tool_calls": [call_delta(0, None, '{"command": "rm -rf /"}')]}),
        delta_chunk({}, "tool_calls"),
    ]
    _, out, blocked = await run(Tier.LOCAL, items)
    final = out[-1]["choices"][0]
    assert "refused" in final["delta"]["content"]
    assert "tool_calls" not in final["delta"]
    assert final["finish_reason"] == "stop"
    assert ("exec", "refused") in blocked
    assert not any("tool_calls" in c["choices"][0]["delta"] for c in out[:-1])


async def test_deferred_target_refused_allowed_call_kept() -> None:
    """tool_call {id: terminal} is refused; a read call in the same answer is kept intact."""
    items = [
        delta_chunk({"tool_calls": [call_delta(0, "tool_call", '{"id": "term', "call_a")]}),
        delta_chunk(
            {
                "tool_calls": [
                    call_delta(0, None, 'inal", "args": {}}'),
                    call_delta(1, "read", '{"path": "a"}', "call_b"),
                ]
            }
        ),
        delta_chunk({}, "tool_calls"),
        {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"total_tokens": 3}},
    ]
    _, out, blocked = await run(Tier.LOCAL, items)
    final = out[-2]["choices"][0]
    assert final["finish_reason"] == "tool_calls"
    assert [c["function"]["name"] for c in final["delta"]["tool_calls"]] == ["read"]
    assert final["delta"]["tool_calls"][0]["index"] == 0
    assert final["delta"]["tool_calls"][0]["id"] == "call_b"
    assert "tool_call:terminal" in final["delta"]["content"]
    assert blocked[-1] == ("tool_call:terminal", "refused")
    assert out[-1]["usage"] == {"total_tokens": 3}
