"""Review 2 of the failure handling: Google's RESOURCE_EXHAUSTED 429 (a per-minute or per-day
quota window, OpenClaw 4.1: rate_limit) is not billing, though its words name "quota" and
"billing details"; it cools the key on that model, not the key everywhere."""

from __future__ import annotations

import json

import pytest

from openclaw_failover._classify import classify_outcome
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import FailureReason as R
from openclaw_failover._ordering import key_model_key, profile_key
from openclaw_failover._ports import TransportFailure
from tests.fixtures.engine import Spec, error, make_engine, make_table

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
NOW = 1_800_000_000.0  # FakeClock's start

# Gemini's per-minute quota 429 (google-gemini/gemini-cli#8437): billing words, a rate limit.
GEMINI_RPM_429 = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing "
        "details. For more information on this error, head to: "
        "https://ai.google.dev/gemini-api/docs/rate-limits.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36s"}],
    }
}


@pytest.mark.parametrize("status", [429, None])
def test_google_quota_window_is_a_rate_limit_not_billing(status: int | None) -> None:
    """As a 429 and as an error event inside a 200 stream: it was billing."""
    body = json.dumps(GEMINI_RPM_429)
    if status is None:
        failure = TransportFailure("UpstreamStreamError", body)
        result = classify_outcome(
            status=None, headers={}, body_excerpt="", transport_error=failure, provider="google"
        )
    else:
        result = classify_outcome(
            status=status, headers={}, body_excerpt=body, transport_error=None, provider="google"
        )
    assert result.reason is R.RATE_LIMIT


def test_openai_insufficient_quota_is_still_billing() -> None:
    """The billing 429 the quota words come from stays billing (a guard for the change)."""
    body = '{"error": {"code": "insufficient_quota", "message": "You exceeded your current quota"}}'
    result = classify_outcome(
        status=429, headers={}, body_excerpt=body, transport_error=None, provider="openai"
    )
    assert result.reason is R.BILLING


async def test_google_quota_429_cools_the_key_on_that_model_only() -> None:
    """Key A is cooled on its model for the body's retryDelay (36 s, longer than the 30 s
    schedule), not disabled on every model for billing's 10 minutes."""
    rig = make_engine(make_table([Spec("p", "m1", keys=("ka", "kb"))]))
    rig.upstream.script(error(429, body=GEMINI_RPM_429), key="ka")
    meta, _ = await rig.engine.complete(REQ)
    assert meta.profile == "p:1"
    profile = rig.engine.table.providers["p"].profiles[0]
    cooled = rig.store._data[key_model_key(profile, "m1")]
    assert cooled.cooldown_reason == "rate_limit"
    assert cooled.cooldown_until - NOW == pytest.approx(36)
    assert profile_key(profile) not in rig.store._data
