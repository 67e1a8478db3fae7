"""The local tier inside the engine: high-risk tools stripped before the call, emitted calls
to them refused in plain text, its own first-token budget."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from openclaw_failover._errors import AllCandidatesFailed
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._localguard import REFUSAL
from openclaw_failover._model import Deadlines, Tier
from openclaw_failover._ordering import model_key
from tests.fixtures.engine import (
    Spec,
    advance_to_deadline,
    chunk,
    error,
    eventually,
    make_engine,
    make_table,
    stream,
)

TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("read", "exec", "write", "tool_call")
]
REQ = ChatRequest(body={"messages": [{"role": "user", "content": "do it"}], "tools": TOOLS})
SPECS = [Spec("cloud", "big"), Spec("ollama", "qwen", tier=Tier.LOCAL)]


def _call_reply(name: str, arguments: dict[str, Any], *, call_id: str = "c1") -> httpx.Response:
    args = json.dumps(arguments)
    return stream(
        chunk({"role": "assistant"}),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": call_id, "type": "function", "function": {"name": name}}
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:5]}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[5:]}}]}),
        chunk({}, finish="tool_calls"),
    )


def _local_rig():
    rig = make_engine(make_table(SPECS))
    rig.upstream.set(error(503), model="big")
    return rig


async def test_high_risk_tools_are_stripped_before_a_local_call() -> None:
    """The local candidate never sees exec/write; meta and audit name what was removed."""
    rig = _local_rig()
    meta, _ = await rig.engine.complete(REQ)
    assert meta.tier == "local"
    cloud_body, local_body = rig.upstream.bodies[0], rig.upstream.bodies[-1]
    assert [t["function"]["name"] for t in cloud_body["tools"]] == [
        "read",
        "exec",
        "write",
        "tool_call",
    ]
    assert [t["function"]["name"] for t in local_body["tools"]] == ["read", "tool_call"]
    assert meta.tools_blocked == ("exec", "write")
    blocked = rig.audit.events("tool_blocked")
    assert blocked[0].tools_blocked == ("exec", "write")
    assert rig.audit.events("outcome")[0].tools_blocked == ("exec", "write")


async def test_call_to_a_removed_tool_is_refused_in_plain_text() -> None:
    """A local model that calls exec anyway gets a refusal instead of a tool call."""
    rig = _local_rig()
    rig.upstream.set(_call_reply("exec", {"command": "rm -rf /"}), model="qwen")
    _, body = await rig.engine.complete(REQ)
    choice = body["choices"][0]
    assert "tool_calls" not in choice["message"]
    assert choice["message"]["content"] == REFUSAL.format(name="exec")
    assert choice["finish_reason"] == "stop"
    refused = [r for r in rig.audit.events("tool_blocked") if r.detail == "refused"]
    assert [r.tools_blocked for r in refused] == [("exec",)]


async def test_tool_call_to_a_high_risk_deferred_tool_is_refused() -> None:
    """``tool_call {id: terminal}`` is refused on the local tier."""
    rig = _local_rig()
    rig.upstream.set(_call_reply("tool_call", {"id": "terminal"}), model="qwen")
    _, body = await rig.engine.complete(REQ)
    assert body["choices"][0]["message"]["content"] == REFUSAL.format(name="tool_call")


async def test_harmless_tool_calls_pass_whole() -> None:
    """A local call to a harmless tool (or tool_call to one) arrives complete and unchanged."""
    rig = _local_rig()
    rig.upstream.set(_call_reply("tool_call", {"id": "web_search"}), model="qwen")
    _, body = await rig.engine.complete(REQ)
    [call] = body["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "tool_call"
    assert json.loads(call["function"]["arguments"]) == {"id": "web_search"}
    assert body["choices"][0]["finish_reason"] == "tool_calls"


async def test_cloud_tier_keeps_every_tool_and_call() -> None:
    """On the cloud tier nothing is stripped or refused."""
    rig = make_engine(make_table(SPECS))
    rig.upstream.set(_call_reply("exec", {"command": "ls"}), model="big")
    meta, body = await rig.engine.complete(REQ)
    assert meta.tier == "cloud"
    assert meta.tools_blocked == ()
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "exec"
    assert rig.audit.events("tool_blocked") == []


async def test_local_tier_has_its_own_first_token_budget() -> None:
    """A silent local candidate is abandoned at ``localFirstTokenS``, not the cloud budget."""
    table = make_table(
        [Spec("ollama", "qwen", tier=Tier.LOCAL)],
        deadlines=Deadlines(interactive_first_token_s=60, local_first_token_s=120),
    )
    rig = make_engine(table)

    async def silent(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # never set: only the deadline ends this
        raise AssertionError("unreachable")

    rig.upstream.set(silent)  # type: ignore[arg-type]
    task = asyncio.create_task(rig.engine.complete(REQ))
    await eventually(lambda: rig.upstream.calls)
    await advance_to_deadline(rig.clock, 120.0, task=task)  # the local budget, not the cloud's
    with pytest.raises(AllCandidatesFailed):
        await asyncio.wait_for(task, 5)  # a guard against a hang, not a timing
    assert rig.audit.events("attempt")[0].reason == "timeout"
    assert rig.clock.monotonic() == 120.0


async def test_mixed_calls_keep_the_allowed_one_and_refuse_the_other() -> None:
    """Two calls in one local answer: the harmless one passes, the high-risk one is refused."""
    rig = _local_rig()
    reply = stream(
        chunk({"role": "assistant", "content": "Working on it. "}),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "a", "function": {"name": "read", "arguments": "{}"}},
                    {"index": 1, "id": "b", "function": {"name": "write", "arguments": "{}"}},
                ]
            }
        ),
        chunk({}, finish="tool_calls"),
    )
    rig.upstream.set(reply, model="qwen")
    meta, body = await rig.engine.complete(REQ)
    message = body["choices"][0]["message"]
    assert message["content"] == "Working on it. " + REFUSAL.format(name="write")
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["read"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    outcome = rig.audit.events("outcome")[0]
    assert outcome.tools_blocked == (*meta.tools_blocked, "write")


async def test_a_keyless_servers_429_cools_its_model() -> None:
    """A provider without keys (a local server, a keyless gateway) answering 429 with a
    Retry-After is cooled for that long on its model: the key scopes (rate_limit, auth,
    billing) land on the model when there is no key, instead of nowhere, so the next
    requests do not send to it again before the time it asked for."""
    specs = [Spec("gate", "m1", keys=()), Spec("cloud", "big")]
    table = make_table(specs)
    rig = make_engine(table)
    rig.upstream.set(error(429, retry_after="120"), model="m1")
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "big"
    cooled = rig.store._data[model_key(table.route("auto").candidates[0])]
    assert (cooled.cooldown_reason, cooled.cooldown_until) == ("rate_limit", rig.clock.now() + 120)
    rig.clock.advance(60)
    await rig.engine.complete(REQ)
    assert rig.upstream.models_called() == ["m1", "big", "big"]
