"""The healthy path's shortcuts give what the general code gives: the two audit lines built
from all their fields in order, the first-try meta built once per table, and the ordering of
a group with no cooldown."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_failover._exchange import ChatRequest
from openclaw_failover._ordering import no_cooldown, order_profiles, plan_route
from openclaw_failover._ports import AuditRecord, Health, UpstreamCall
from openclaw_failover._runhooks import AnswerEvents
from openclaw_failover._runstate import RunLog
from openclaw_failover._upstream import has_token
from openclaw_failover.testing import CapturingAuditSink
from tests.fixtures.engine import Spec, make_engine, make_table

REQ = ChatRequest(
    body={"messages": [{"role": "user", "content": "hi"}]},
    request_id="r-1",
    trace_id="t-1",
    session_id="s-1",
)
PLAIN = ChatRequest(body=REQ.body)  # no session: no pin, the keys rotate
SPECS = [Spec("p", "m1", keys=("ka", "kb")), Spec("q", "m2", keys=("kq",))]


def _log() -> tuple[RunLog, CapturingAuditSink, object]:
    rig = make_engine(make_table(SPECS))
    view = rig.engine._view
    return RunLog(view, REQ, "r-1"), rig.audit, view


def _fallback_identity(line: AuditRecord, view: Any) -> dict[str, Any]:
    """The keyword fields every line of REQ on the fallback slot (q:0) carries."""
    return {
        "ts": line.ts,
        "request_id": "r-1",
        "trace_id": "t-1",
        "session_id": "s-1",
        "instance": view.instance,
        "route": "auto",
        "route_version": view.table.version,
        "provider": "q",
        "model": "m2",
        "profile": "q:0",
        "tier": view.plans["auto"].groups[1][0].candidate.tier.value,
    }


def test_answered_line_equals_the_keyword_form() -> None:
    log, audit, view = _log()
    slot = view.plans["auto"].groups[1][0]  # a fallback: the labels are not the first slot's
    log.answered(slot, attempt=3, ttfb_ms=12.5, status=200)
    (line,) = audit.records
    expected = AuditRecord(
        event="attempt",
        **_fallback_identity(line, view),
        attempt=3,
        status=200,
        ttfb_ms=12.5,
    )
    assert line == expected
    assert type(line) is AuditRecord
    assert line.to_json()["ttfb_ms"] == 12.5


def test_finished_line_equals_the_keyword_form_and_is_written_once() -> None:
    log, audit, view = _log()
    slot = view.plans["auto"].groups[1][0]
    log.finished(
        slot,
        "answered_downgraded",
        attempt=2,
        tools_blocked=("exec",),
        latency_ms=40.1,
        ttfb_ms=9.0,
    )
    log.finished(slot, "client_error", attempt=2, tools_blocked=(), latency_ms=1.0, ttfb_ms=None)
    log.outcome("hard_stop")  # the outcome is written already: ignored
    (line,) = audit.records
    expected = AuditRecord(
        event="outcome",
        **_fallback_identity(line, view),
        attempt=2,
        outcome="answered_downgraded",
        latency_ms=40.1,
        ttfb_ms=9.0,
        downgraded=True,
        tools_blocked=("exec",),
    )
    assert line == expected


async def test_first_try_meta_is_built_once_per_table_and_slot() -> None:
    rig = make_engine(make_table(SPECS, explicit_order=False))
    first, _ = await rig.engine.complete(PLAIN)  # key A
    second, _ = await rig.engine.complete(PLAIN)  # key B: the rotation
    third, _ = await rig.engine.complete(PLAIN)  # key A again
    assert (first.profile, second.profile, third.profile) == ("p:0", "p:1", "p:0")
    assert first.attempts == 1
    assert first.attempt_log == ()
    assert not first.downgraded
    assert third is first  # the memo's, not a copy
    rig.engine.replace_table(rig.engine.table)  # a reload starts a new memo
    assert rig.engine._view.first_metas == {}
    fourth, _ = await rig.engine.complete(PLAIN)
    assert fourth == first
    assert fourth is not first


async def test_a_skip_before_the_first_try_gives_its_own_meta() -> None:
    rig = make_engine(make_table(SPECS))
    await rig.engine.complete(PLAIN)  # fills the memo for the primary's key A
    for profile in rig.engine.table.providers["p"].profiles:
        key = f"key:{profile.id}#{profile.fingerprint}"
        await rig.store.update(key, lambda h: Health(cooldown_until=1e12, cooldown_reason="auth"))
    meta, _ = await rig.engine.complete(PLAIN)
    again, _ = await rig.engine.complete(PLAIN)
    assert (meta.provider, meta.attempts, meta.downgraded) == ("q", 1, True)
    assert [a.skipped for a in meta.attempt_log] == [True, True]  # the cooling keys
    assert again == meta
    assert again is not meta
    assert all(m.attempt_log == () for m in rig.engine._view.first_metas.values())


_health = st.builds(
    Health,
    last_used_at=st.floats(0, 100),
    last_good_at=st.floats(0, 100),
)


@given(st.lists(st.one_of(st.none(), _health), min_size=4, max_size=4), st.floats(0, 50))
def test_a_group_with_no_cooldown_orders_as_the_full_check_does(
    stored: list[Health | None], local_stamp: float
) -> None:
    specs = [Spec("p", "m1", keys=("a", "b", "c", "d"))]
    rig = make_engine(make_table(specs, explicit_order=False))
    table = rig.engine.table
    plan = plan_route(table.routes["auto"], MappingProxyType(dict(table.providers)))
    group = plan.groups[0]
    health = {s.keys[1]: h for s, h in zip(group, stored, strict=True) if h is not None}
    local = {group[2].keys[1]: local_stamp}
    assert no_cooldown(health.values(), now=200.0)
    fast = order_profiles(group, health, now=200.0, last_used=local, clear=True)
    full = order_profiles(group, health, now=200.0, last_used=local)
    assert fast == full


def test_no_cooldown_sees_a_live_and_an_expired_cooldown() -> None:
    assert no_cooldown([Health(), Health(last_used_at=5.0)], now=10.0)
    assert not no_cooldown([Health(), Health(cooldown_until=20.0)], now=10.0)
    # Expired but its reason still set: half-open, not ready.
    assert not no_cooldown([Health(cooldown_until=5.0, cooldown_reason="auth")], now=10.0)


@pytest.mark.parametrize(
    ("delta", "token"),
    [
        ({"content": "hi"}, True),
        ({"role": "assistant", "content": ""}, False),
        ({"role": "assistant"}, False),
        ({"tool_calls": [{"index": 0, "function": {"name": "f"}}]}, True),
        ({"content": "", "reasoning_content": "thinking"}, True),
        ({"content": None, "reasoning": "r"}, True),
        ({"refusal": "no"}, True),
        ({"content": "", "tool_calls": []}, False),
        ({}, False),
    ],
)
def test_what_counts_as_the_first_token(delta: dict[str, object], token: bool) -> None:
    assert has_token({"choices": [{"index": 0, "delta": delta}]}) is token
    assert (
        has_token({"choices": [{"index": 0, "delta": {}}, {"index": 1, "delta": delta}]}) is token
    )
    assert has_token({"choices": []}) is False
    assert has_token({"choices": ["not a choice"]}) is False


async def test_the_attempts_call_equals_the_keyword_form() -> None:
    """The UpstreamCall an attempt builds positionally has every field, each in its place."""
    rig = make_engine(make_table(SPECS))
    inner = rig.engine._transports["openai-completions"]
    calls: list[UpstreamCall] = []

    class Recording:
        def send(self, call: UpstreamCall) -> Any:
            calls.append(call)
            return inner.send(call)

        async def list_models(self, provider: Any, profile: Any) -> list[str]:
            return await inner.list_models(provider, profile)

    rig.engine._transports["openai-completions"] = Recording()  # the view holds this dict
    await rig.engine.complete(REQ)
    (call,) = calls
    provider = rig.engine.table.providers["p"]
    assert call.profile in provider.profiles
    assert len(call) == len(UpstreamCall._fields)
    assert call == UpstreamCall(
        provider=provider,
        candidate=rig.engine.table.route("auto").candidates[0],
        profile=call.profile,
        body=REQ.body,
        headers=REQ.upstream_headers,
        gate=call.gate,
    )
    assert isinstance(call.gate, AnswerEvents)
