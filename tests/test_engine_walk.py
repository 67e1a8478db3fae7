"""Engine walk over MockTransport upstreams and a FakeClock: keys, retries, moves, hard stop."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from openclaw_failover._errors import AllCandidatesFailed, RequestRejected, RouteDriftError
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import Deadlines, Retries
from openclaw_failover._ordering import key_model_key, model_key, profile_key
from openclaw_failover._ports import Health
from tests.fixtures.engine import (
    Spec,
    advance_to_deadline,
    error,
    eventually,
    make_engine,
    make_table,
    ok,
)

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
TWO_KEYS = [Spec("p", "m1", keys=("ka", "kb")), Spec("q", "m2", keys=("kq",))]


async def _answer(rig, request: ChatRequest = REQ):
    meta, body = await rig.engine.complete(request)
    return meta, body


async def test_healthy_primary_answers_first_time() -> None:
    """A healthy primary answers on the first key; nothing is downgraded or cooled."""
    rig = make_engine(make_table(TWO_KEYS))
    meta, body = await _answer(rig)
    assert (meta.provider, meta.model, meta.profile, meta.attempts) == ("p", "m1", "p:0", 1)
    assert not meta.downgraded
    assert body["choices"][0]["message"]["content"] == "hello"
    assert rig.upstream.calls == [("ka", "m1")]
    assert rig.clock.sleeps == []


async def test_long_retry_after_moves_to_the_next_key() -> None:
    """429 with Retry-After above inlineWaitMaxS on key A is answered by key B, no wait."""
    rig = make_engine(make_table(TWO_KEYS))
    rig.upstream.script(error(429, retry_after="30"), key="ka")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("kb", "m1")]
    assert meta.profile == "p:1"
    assert rig.clock.sleeps == []
    cooled = rig.store._data[key_model_key(rig.engine.table.providers["p"].profiles[0], "m1")]
    assert cooled.cooldown_reason == "rate_limit"
    assert cooled.cooldown_until - rig.clock.now() == pytest.approx(30)


async def test_short_retry_after_is_waited_out_once_on_the_same_key() -> None:
    """429 with Retry-After: 1 is waited out once (clock.sleep) and retried on key A."""
    rig = make_engine(make_table(TWO_KEYS))
    rig.upstream.script(error(429, retry_after="1"), key="ka")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m1")]
    assert rig.clock.sleeps == [1.0]
    assert meta.profile == "p:0"
    assert meta.attempts == 2


async def test_only_one_inline_wait_per_request() -> None:
    """A second short Retry-After in the same request is not waited for: the next key goes."""
    rig = make_engine(make_table(TWO_KEYS))
    rig.upstream.script(error(429, retry_after="1"), error(429, retry_after="1"), key="ka")
    rig.upstream.script(error(429, retry_after="1"), key="kb")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m1"), ("kb", "m1"), ("kq", "m2")]
    assert rig.clock.sleeps == [1.0]
    assert meta.downgraded


async def test_server_error_retries_once_then_next_model_not_next_key() -> None:
    """500 is retried once on the same key after a jittered backoff, then the next model."""
    rig = make_engine(make_table(TWO_KEYS))
    rig.upstream.set(error(500), model="m1")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m1"), ("kq", "m2")]
    assert rig.clock.sleeps == [0.5]
    assert (meta.provider, meta.downgraded) == ("q", True)
    cooled = rig.store._data[model_key(rig.engine.table.route("auto").candidates[0])]
    assert cooled.cooldown_reason == "server_error"
    assert cooled.cooldown_until - rig.clock.now() == pytest.approx(5)


async def test_all_primary_keys_cooling_go_straight_to_the_fallback() -> None:
    """With every primary key cooling, the first fallback answers and cooled keys get 0 calls."""
    table = make_table(TWO_KEYS)
    rig = make_engine(table)
    now = rig.clock.now()
    for profile in table.providers["p"].profiles:
        rig.store._data[profile_key(profile)] = Health(
            cooldown_until=now + 300, cooldown_reason="auth"
        )
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("kq", "m2")]
    assert meta.provider == "q"
    skips = rig.audit.events("skip")
    assert [s.profile for s in skips] == ["p:0", "p:1"]


async def test_not_found_is_drift_without_other_models() -> None:
    """404 surfaces as RouteDriftError at once; no other model is tried."""
    rig = make_engine(make_table(TWO_KEYS))
    rig.upstream.set(error(404), model="m1")
    with pytest.raises(RouteDriftError) as info:
        await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1")]
    assert info.value.attempts[0].reason == "model_not_found"
    assert [r.outcome for r in rig.audit.events("outcome")] == ["drift"]


async def test_format_error_is_rejected_and_never_retried() -> None:
    """400 is the request's own fault: RequestRejected, one call, no cooldown."""
    rig = make_engine(make_table(TWO_KEYS))
    rig.upstream.set(error(400), model="m1")
    with pytest.raises(RequestRejected):
        await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1")]
    assert rig.store._data == {}
    assert [r.outcome for r in rig.audit.events("outcome")] == ["rejected"]


async def test_a_rejection_carries_the_upstreams_own_words_but_the_audit_does_not() -> None:
    """The upstream's message for a 400 travels with RequestRejected (for the caller, who
    must learn what to fix); the audit keeps only status and type (it may echo the request)."""
    rig = make_engine(make_table(TWO_KEYS))
    words = "messages[3]: tool_call_id 'call_9' has no matching tool call"
    body = {"error": {"type": "invalid_request_error", "message": words}}
    rig.upstream.set(error(400, body=body), model="m1")
    with pytest.raises(RequestRejected) as info:
        await _answer(rig)
    assert info.value.upstream_message == words
    assert all("call_9" not in json.dumps(r.to_json()) for r in rig.audit.records)


async def test_three_candidates_all_500_make_exactly_six_attempts() -> None:
    """Three candidates with one key each, all 500: exactly 6 attempts, then the hard stop."""
    specs = [
        Spec("a", "m1", keys=("k1",)),
        Spec("b", "m2", keys=("k2",)),
        Spec("c", "m3", keys=("k3",)),
    ]
    rig = make_engine(make_table(specs))
    rig.upstream.set(error(500))
    with pytest.raises(AllCandidatesFailed) as info:
        await _answer(rig)
    assert rig.upstream.models_called() == ["m1", "m1", "m2", "m2", "m3", "m3"]
    failed = info.value
    assert len([a for a in failed.attempts if not a.skipped]) == 6
    assert failed.soonest_retry_at == pytest.approx(rig.clock.now() + 5, abs=2)
    assert {a.reason for a in failed.attempts} == {"server_error"}
    assert [r.outcome for r in rig.audit.events("outcome")] == ["hard_stop"]


async def test_intent_cap_stops_the_walk() -> None:
    """maxAttemptsPerIntent caps attempts across keys and models."""
    specs = [Spec("a", "m1", keys=("k1", "k2", "k3")), Spec("b", "m2", keys=("k4", "k5"))]
    rig = make_engine(make_table(specs, retries=Retries(max_attempts_per_intent=3)))
    rig.upstream.set(error(401))
    with pytest.raises(AllCandidatesFailed):
        await _answer(rig)
    assert len(rig.upstream.calls) == 3


async def test_intent_budget_stops_the_walk() -> None:
    """Once intentBudgetS is spent, no retry and no further attempt starts."""
    specs = [Spec("a", "m1"), Spec("b", "m2"), Spec("c", "m3")]
    rig = make_engine(make_table(specs, deadlines=Deadlines(intent_budget_s=1.5)))

    def slow_500(request: httpx.Request) -> httpx.Response:
        rig.clock.advance(1.0)  # the upstream took a virtual second to fail
        return error(500)

    rig.upstream.set(slow_500)
    with pytest.raises(AllCandidatesFailed):
        await _answer(rig)
    # m1 fails at 1.0 s; a 0.5 s backoff no longer fits; m2 starts at 1.0 s and ends at 2.0 s.
    assert rig.upstream.models_called() == ["m1", "m2"]
    assert rig.clock.sleeps == []


async def test_auth_rotates_keys_and_cools_the_key_for_every_model() -> None:
    """401 on key A moves to key B; A's key-wide cooldown also skips it for the next model."""
    specs = [Spec("p", "m1", keys=("ka", "kb")), Spec("p", "m2")]
    rig = make_engine(make_table(specs))
    rig.upstream.set(error(401), key="ka")
    rig.upstream.set(error(500), key="kb", model="m1")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("kb", "m1"), ("kb", "m1"), ("kb", "m2")]
    assert (meta.model, meta.profile) == ("m2", "p:1")
    key = profile_key(rig.engine.table.providers["p"].profiles[0])
    assert rig.store._data[key].cooldown_until == pytest.approx(rig.clock.now() + 300, abs=2)


async def test_rate_limit_on_one_model_leaves_its_sibling_usable() -> None:
    """A 429 cools key+model only: the same key still serves another model."""
    specs = [Spec("p", "m1", keys=("ka",)), Spec("p", "m2")]
    rig = make_engine(make_table(specs))
    rig.upstream.script(error(429, retry_after="60"), model="m1")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m2")]
    assert meta.model == "m2"


async def test_empty_200_fails_over() -> None:
    """A 200 without content or tool call is empty_response: the next model answers."""
    from tests.fixtures.engine import chunk, stream

    rig = make_engine(make_table(TWO_KEYS))
    rig.upstream.set(stream(chunk({"role": "assistant"}), chunk({}, finish="stop")), model="m1")
    meta, _ = await _answer(rig)
    assert meta.model == "m2"
    assert rig.upstream.calls == [("ka", "m1"), ("kq", "m2")]
    cooled = rig.store._data[model_key(rig.engine.table.route("auto").candidates[0])]
    assert cooled.cooldown_reason == "empty_response"


async def test_context_overflow_skips_smaller_windows() -> None:
    """context_overflow moves to the next candidate whose window is not smaller."""
    specs = [
        Spec("a", "big", window=32000),
        Spec("b", "small", window=8000),
        Spec("c", "unknown"),
    ]
    rig = make_engine(make_table(specs))
    overflow = {"error": {"code": "context_length_exceeded", "message": "maximum context length"}}
    rig.upstream.set(error(400, body=overflow), model="big")
    meta, _ = await _answer(rig)
    assert rig.upstream.models_called() == ["big", "unknown"]
    assert meta.model == "unknown"


async def test_an_unknown_windows_overflow_keeps_the_known_size() -> None:
    """After a 200k model overflowed, a model of unknown window overflowing too says nothing
    new: an 8k model after them is still skipped (never sent a context known to overflow)."""
    specs = [
        Spec("a", "big", window=200_000),
        Spec("b", "unknown"),
        Spec("c", "small", window=8000),
        Spec("d", "bigger", window=400_000),
    ]
    rig = make_engine(make_table(specs))
    overflow = {"error": {"code": "context_length_exceeded", "message": "maximum context length"}}
    for model in ("big", "unknown"):
        rig.upstream.set(error(400, body=overflow), model=model)
    meta, _ = await _answer(rig)
    assert rig.upstream.models_called() == ["big", "unknown", "bigger"]
    assert meta.model == "bigger"


async def test_context_overflow_everywhere_is_rejected() -> None:
    """When no candidate can take the context, the request is rejected, not hard-stopped."""
    specs = [Spec("a", "m1", window=8000), Spec("b", "m2", window=8000)]
    rig = make_engine(make_table(specs))
    overflow = {"error": {"code": "context_length_exceeded"}}
    rig.upstream.set(error(400, body=overflow))
    with pytest.raises(RequestRejected):
        await _answer(rig)
    assert rig.upstream.models_called() == ["m1", "m2"]


async def test_unknown_route_is_a_key_error() -> None:
    """An unknown route raises KeyError (the proxy maps it)."""
    rig = make_engine(make_table(TWO_KEYS))
    with pytest.raises(KeyError):
        await rig.engine.open(ChatRequest(body={"messages": []}, route="nope"))


async def test_banned_and_keyless_candidates_are_skipped_and_listed() -> None:
    """A banned model is never called; the hard stop still lists it as skipped."""
    rig = make_engine(make_table(TWO_KEYS, banned_models=("p/m1",)))
    rig.upstream.set(error(500))
    with pytest.raises(AllCandidatesFailed) as info:
        await _answer(rig)
    assert rig.upstream.models_called() == ["m2", "m2"]
    first = info.value.attempts[0]
    assert (first.provider, first.model, first.skipped) == ("p", "m1", True)


async def test_request_deadline_is_capped_by_max_request_deadline() -> None:
    """A per-request first-token deadline above maxRequestDeadlineS is capped."""
    table = make_table([Spec("p", "m1")], deadlines=Deadlines(max_request_deadline_s=20))
    rig = make_engine(table)

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # never set: only the deadline ends this
        raise AssertionError("unreachable")

    rig.upstream.set(hang)  # type: ignore[arg-type]
    request = ChatRequest(body=REQ.body, first_token_deadline_s=60)
    task = asyncio.create_task(rig.engine.complete(request))
    await eventually(lambda: rig.upstream.calls)
    await advance_to_deadline(rig.clock, 20.0, task=task)  # the cap, not the request's 60 s
    with pytest.raises(AllCandidatesFailed):
        await asyncio.wait_for(task, 5)  # a guard against a hang, not a timing


def _cooling(reason: str, until: float) -> Health:
    return Health(cooldown_until=until, cooldown_reason=reason)


async def test_retry_after_backoff_skips_a_model_cooled_meanwhile() -> None:
    """A 500 is retried on the same key only if no other request cooled the model during the
    backoff (found by the chaos soak: retries reached models cooling for seconds)."""
    table = make_table(TWO_KEYS)
    rig = make_engine(table)
    cool_m1 = model_key(table.route("auto").candidates[0])

    def fails_and_another_request_cools(request: httpx.Request) -> httpx.Response:
        rig.store._data[cool_m1] = _cooling("server_error", rig.clock.now() + 30)
        return error(500)

    rig.upstream.script(fails_and_another_request_cools, key="ka", model="m1")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("kq", "m2")]
    assert meta.provider == "q"
    assert any(s.detail == "cooling since the last attempt" for s in rig.audit.events("skip"))


async def test_next_key_is_read_again_before_it_is_tried() -> None:
    """After key A fails, key B is tried only if the store does not show it cooling now (set
    by another request while A's attempt ran), not from the snapshot taken before A."""
    table = make_table(TWO_KEYS)
    rig = make_engine(table)
    key_b = profile_key(table.providers["p"].profiles[1])

    def limited_while_b_is_revoked(request: httpx.Request) -> httpx.Response:
        rig.store._data[key_b] = _cooling("auth", rig.clock.now() + 300)
        return error(429, retry_after="30")

    rig.upstream.script(limited_while_b_is_revoked, key="ka", model="m1")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("kq", "m2")]
    assert meta.provider == "q"
    assert [s.profile for s in rig.audit.events("skip")] == ["p:1"]


async def test_retry_claims_a_cooldown_that_expired_during_the_backoff() -> None:
    """A cooldown set and expired during the backoff leaves the key half-open: the retry
    claims its probe and goes ahead, instead of skipping a key nobody else may probe."""
    table = make_table(TWO_KEYS)
    rig = make_engine(table)
    cool_m1 = model_key(table.route("auto").candidates[0])

    def fails_and_a_short_cooldown_lands(request: httpx.Request) -> httpx.Response:
        rig.store._data[cool_m1] = _cooling("server_error", rig.clock.now() + 0.1)
        return error(500)

    rig.upstream.script(fails_and_a_short_cooldown_lands, key="ka", model="m1")
    meta, _ = await _answer(rig)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m1")]
    assert meta.provider == "p"
    assert [p.detail for p in rig.audit.events("probe")] == ["half_open"]
    assert rig.store._data[cool_m1].cooldown_reason is None  # the probe's answer healed it


async def test_an_answer_does_not_clear_a_cooldown_set_after_its_request_looked() -> None:
    """A key revoked (auth cooldown) by another request while this one's call was in flight
    stays cooling when this call answers: the failure is newer evidence than the answer
    (found by the chaos soak: the first answer on a key wiped such cooldowns)."""
    table = make_table(TWO_KEYS)
    rig = make_engine(table)
    key_a = profile_key(table.providers["p"].profiles[0])

    def answers_while_another_request_fails(request: httpx.Request) -> httpx.Response:
        now = rig.clock.now()
        rig.store._data[key_a] = Health(
            cooldown_until=now + 300, cooldown_reason="auth", last_failure_at=now
        )
        return ok()

    rig.upstream.script(answers_while_another_request_fails, key="ka", model="m1")
    meta, _ = await _answer(rig)
    assert meta.profile == "p:0"
    stored = rig.store._data[key_a]
    assert stored.cooldown_reason == "auth"
    assert stored.last_good_at == rig.clock.now()


async def test_a_probe_ended_by_another_request_is_not_retried() -> None:
    """A request probing a half-open model does not retry it when, during its backoff, another
    request's failure set a new cooldown there (which ends every claim on the key)."""
    table = make_table(TWO_KEYS)
    rig = make_engine(table)
    cool_m1 = model_key(table.route("auto").candidates[0])
    rig.store._data[cool_m1] = _cooling("server_error", rig.clock.now() - 1)  # half-open

    def fails_while_another_probe_fails(request: httpx.Request) -> httpx.Response:
        now = rig.clock.now()
        rig.store._data[cool_m1] = Health(
            cooldown_until=now + 30, cooldown_reason="server_error", last_failure_at=now
        )
        return error(500)

    rig.upstream.script(fails_while_another_probe_fails, key="ka", model="m1")
    meta, _ = await _answer(rig)
    assert [p.detail for p in rig.audit.events("probe")] == ["half_open"]
    assert rig.upstream.calls == [("ka", "m1"), ("kq", "m2")]
    assert meta.provider == "q"
