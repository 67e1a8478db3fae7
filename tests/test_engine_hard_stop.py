"""The hard stop's content: every attempt with who, why and how long, and the soonest expiry."""

from __future__ import annotations

import json

import pytest

from openclaw_failover._errors import AllCandidatesFailed
from openclaw_failover._exchange import ChatRequest
from tests.fixtures.engine import Spec, error, make_engine, make_table

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
SPECS = [Spec("p", "m1", keys=("sk-p-FAKE-a", "sk-p-FAKE-b")), Spec("q", "m2", keys=("sk-q-FAKE",))]


async def _hard_stop() -> tuple[AllCandidatesFailed, float]:
    rig = make_engine(make_table(SPECS))
    rig.upstream.script(error(401), key="sk-p-FAKE-a")
    rig.upstream.script(error(429, retry_after="30"), key="sk-p-FAKE-b")
    rig.upstream.set(error(500))
    with pytest.raises(AllCandidatesFailed) as info:
        await rig.engine.complete(REQ)
    return info.value, rig.clock.now()


async def test_hard_stop_lists_every_attempt_with_provider_model_profile_reason_status() -> None:
    """Each attempt names provider, model, profile id, reason, status and a latency, in order."""
    failed, _ = await _hard_stop()
    tried = [(a.provider, a.model, a.profile, a.reason, a.status) for a in failed.attempts]
    assert tried == [
        ("p", "m1", "p:0", "auth", 401),
        ("p", "m1", "p:1", "rate_limit", 429),
        ("q", "m2", "q:0", "server_error", 500),
        ("q", "m2", "q:0", "server_error", 500),
    ]
    assert all(a.latency_ms >= 0 and a.tier == "cloud" for a in failed.attempts)


async def test_hard_stop_names_the_soonest_expiry_and_never_a_key() -> None:
    """The soonest cooldown (q's 5 s model cooldown, not p's 30 s or 5 min) is reported; no key."""
    failed, now = await _hard_stop()
    assert failed.soonest_retry_at == pytest.approx(now + 5, abs=2)
    shown = str(failed) + json.dumps([a.as_dict() for a in failed.attempts])
    assert all(key not in shown for spec in SPECS for key in spec.keys)


async def test_the_soonest_expiry_is_when_a_whole_candidate_is_free() -> None:
    """A candidate is usable only when every key of it is: m1's own 5 s model cooldown ends
    first, but m1 and m2 both need key kA, which cools 5 min (a 401), so the true soonest
    is in 5 min, not in 5 s."""
    table = make_table([Spec("p", "m1", keys=("kA",)), Spec("p", "m2", keys=("kA",))])
    rig = make_engine(table)
    rig.upstream.set(error(503), model="m1")  # model m1 cools 5 s
    rig.upstream.set(error(401), model="m2")  # key kA cools 300 s (key scope)
    with pytest.raises(AllCandidatesFailed) as info:
        await rig.engine.complete(REQ)
    assert info.value.soonest_retry_at == pytest.approx(rig.clock.now() + 300, abs=2)
