"""Gemini says when to retry in its 429 body (google.rpc.RetryInfo ``retryDelay``), not in a
Retry-After header: that delay is honoured like a Retry-After."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openclaw_failover._classify import classify_outcome
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import FailureReason
from tests.fixtures.engine import Spec, error, make_engine, make_table

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})


def _gemini_429(delay: str) -> dict[str, Any]:
    return {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing "
            "details. Please retry in 37.2s.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaMetric": "generate_content_free_tier_requests"}],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
            ],
        }
    }


def _classify(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    return classify_outcome(
        status=status,
        headers=headers or {},
        body_excerpt=json.dumps(body),
        transport_error=None,
        provider="google",
        now=1_800_000_000.0,
    )


@pytest.mark.parametrize("wrapped", [False, True])
def test_retry_delay_in_a_gemini_429_is_the_retry_after(wrapped: bool) -> None:
    """Native API: an object; the OpenAI-compatible endpoint: a list holding it."""
    body = _gemini_429("37s")
    result = _classify(429, [body] if wrapped else body)
    assert result.reason is FailureReason.RATE_LIMIT
    assert result.retry_after_s == pytest.approx(37.0)
    assert _classify(429, _gemini_429("1.5s")).retry_after_s == pytest.approx(1.5)


def test_a_retry_after_header_still_wins_and_other_statuses_ignore_the_body() -> None:
    assert _classify(429, _gemini_429("37s"), {"retry-after": "5"}).retry_after_s == 5.0
    assert _classify(500, _gemini_429("37s")).retry_after_s is None
    assert _classify(429, _gemini_429("soon")).retry_after_s is None


async def test_a_short_retry_delay_is_waited_out_on_the_same_key() -> None:
    """A 1 s retryDelay: the one inline wait on the same key, not a cooldown and a rotation."""
    rig = make_engine(make_table([Spec("p", "m1", keys=("ka", "kb"))]))
    rig.upstream.script(error(429, body=_gemini_429("1s")), key="ka")
    await rig.engine.complete(REQ)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m1")]
    assert rig.clock.sleeps == [pytest.approx(1.0)]
