"""A 429 with no Retry-After, retry-after-ms or Gemini retryDelay: the reset time of the rate
limit it used up (OpenAI-style ``x-ratelimit-reset-*`` Go durations, Anthropic
``anthropic-ratelimit-*-reset`` RFC 3339 timestamps) is the provider's hint for the wait."""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from openclaw_failover._classify import classify_outcome
from openclaw_failover._engine import FailoverEngine
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import FailureReason
from openclaw_failover._ordering import key_model_key
from openclaw_failover._retry_after import parse_ratelimit_reset
from openclaw_failover.providers.anthropic import AnthropicTransport
from openclaw_failover.providers.openai import OpenAICompatTransport
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.testing import CapturingAuditSink, FakeClock
from tests.fixtures.engine import Spec, Upstream, make_engine, make_table

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z, FakeClock's start
REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
RATE_BODY = {"error": {"type": "rate_limit_error", "message": "Rate limit reached"}}


def _openai(reset: str, *, limit: str = "tokens", remaining: str = "0") -> dict[str, str]:
    return {f"x-ratelimit-reset-{limit}": reset, f"x-ratelimit-remaining-{limit}": remaining}


def _anthropic(reset: str, *, limit: str = "tokens", remaining: str = "0") -> dict[str, str]:
    return {
        f"anthropic-ratelimit-{limit}-reset": reset,
        f"anthropic-ratelimit-{limit}-remaining": remaining,
    }


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("7.66s", 7.66),
        ("2m59.56s", 179.56),
        ("0s", 0.0),
        ("1.5m", 90.0),
        ("250us", 0.00025),
        ("250\u00b5s", 0.00025),
    ],
)
def test_go_durations_are_read(raw: str, seconds: float) -> None:
    assert parse_ratelimit_reset(_openai(raw)) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "raw",
    [
        "1",  # bare number: seconds, ms or an epoch depending on the provider
        "30",
        "1800000060",
        "1.5",
        "-1s",
        "+1s",
        "NaN",
        "nans",
        "inf",
        "infs",
        "1d",
        "1S",
        "1 s",
        "1s2",
        "s",
        "",
        "1.2.3s",
        "1h-2m",
        "1" + "0" * 70 + "s",  # over 64 characters
    ],
)
def test_unreadable_durations_are_ignored(raw: str) -> None:
    assert parse_ratelimit_reset(_openai(raw)) is None


def test_only_a_used_up_limit_counts_and_the_longer_of_two_wins() -> None:
    requests = _openai("1s", limit="requests")
    tokens = _openai("6m0s", limit="tokens")
    assert parse_ratelimit_reset({**requests, **tokens}) == pytest.approx(360.0)
    tokens_left = _openai("6m0s", limit="tokens", remaining="1200")
    assert parse_ratelimit_reset({**requests, **tokens_left}) == pytest.approx(1.0)
    requests_left = _openai("1s", limit="requests", remaining="59")
    assert parse_ratelimit_reset({**requests_left, **tokens_left}) is None
    assert parse_ratelimit_reset({"x-ratelimit-reset-tokens": "6m0s"}) is None  # no remaining
    # An unreadable reset on one used-up limit leaves the other in charge.
    assert parse_ratelimit_reset({**_openai("soon", limit="requests"), **tokens}) == 360.0


def test_header_names_in_any_case() -> None:
    headers = {"X-RateLimit-Remaining-Tokens": "0", "X-RATELIMIT-RESET-TOKENS": "20s"}
    assert parse_ratelimit_reset(headers) == pytest.approx(20.0)
    anthropic = {
        "Anthropic-RateLimit-Requests-Remaining": "0",
        "ANTHROPIC-RATELIMIT-REQUESTS-RESET": "2027-01-15T08:00:30Z",
    }
    assert parse_ratelimit_reset(anthropic, now=NOW) == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("2027-01-15T08:00:30Z", 30.0),
        ("2027-01-15t08:00:30z", 30.0),
        ("2027-01-15T08:00:30.5Z", 30.5),
        ("2027-01-15T10:01:00+02:00", 60.0),
        ("2027-01-15T03:02:00-05:00", 120.0),
        ("2027-01-15T07:59:00Z", 0.0),  # already past
    ],
)
def test_anthropic_rfc3339_resets_are_read_against_now(raw: str, seconds: float) -> None:
    for limit in ("requests", "tokens", "input-tokens", "output-tokens"):
        headers = _anthropic(raw, limit=limit)
        assert parse_ratelimit_reset(headers, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "raw",
    [
        "2027-01-15T08:00:30",  # no zone
        "2027-01-15 08:00:30Z",
        "2027-02-29T08:00:30Z",  # 2027 is no leap year
        "2027-13-01T08:00:30Z",
        "2027-01-15T24:00:30Z",
        "2027-01-15T08:00:30+24:00",
        "1800000030",
        "30",
        "30s",
        "NaN",
        "2027-01-15T08:00:30." + "0" * 60 + "Z",  # over 64 characters
    ],
)
def test_unreadable_anthropic_resets_are_ignored(raw: str) -> None:
    assert parse_ratelimit_reset(_anthropic(raw), now=NOW) is None


def test_anthropic_resets_need_now_and_a_used_up_limit() -> None:
    assert parse_ratelimit_reset(_anthropic("2027-01-15T08:00:30Z")) is None
    left = _anthropic("2027-01-15T08:00:30Z", remaining="10")
    assert parse_ratelimit_reset(left, now=NOW) is None
    both = {
        **_anthropic("2027-01-15T08:00:30Z", limit="input-tokens"),
        **_anthropic("2027-01-15T08:01:00Z", limit="output-tokens"),
    }
    assert parse_ratelimit_reset(both, now=NOW) == pytest.approx(60.0)


def _classify(status: int, headers: dict[str, str], body: Any = None) -> Any:
    return classify_outcome(
        status=status,
        headers=headers,
        body_excerpt=json.dumps(body if body is not None else RATE_BODY),
        transport_error=None,
        provider="openai",
        now=NOW,
    )


def test_classify_takes_the_reset_only_when_nothing_says_more() -> None:
    resets = {**_openai("45s"), **_anthropic("2027-01-15T08:01:30Z")}
    gemini = {"error": {"details": [{"retryDelay": "7s"}], "status": "RESOURCE_EXHAUSTED"}}
    result = _classify(429, resets)
    assert result.reason is FailureReason.RATE_LIMIT
    assert result.retry_after_s == pytest.approx(90.0)  # the longer of the two used-up limits
    assert _classify(429, _openai("45s")).retry_after_s == pytest.approx(45.0)
    assert _classify(429, {**resets, "retry-after-ms": "1500"}).retry_after_s == 1.5
    assert _classify(429, {**resets, "Retry-After": "5"}).retry_after_s == 5.0
    assert _classify(429, resets, gemini).retry_after_s == pytest.approx(7.0)
    # An unreadable Retry-After says nothing: the reset decides.
    assert _classify(429, {**_openai("45s"), "retry-after": "soon"}).retry_after_s == 45.0
    # Only a 429 reads them.
    assert _classify(503, resets).retry_after_s is None
    assert _classify(500, resets).retry_after_s is None


def test_classify_without_now_ignores_only_the_timestamps() -> None:
    resets = {**_openai("45s"), **_anthropic("2027-01-15T08:01:30Z")}
    result = classify_outcome(
        status=429,
        headers=resets,
        body_excerpt="",
        transport_error=None,
        provider="openai",
    )
    assert result.retry_after_s == pytest.approx(45.0)


def _limited(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers, json=RATE_BODY)


async def test_a_reset_header_sets_the_cooldown_of_the_key() -> None:
    """A 429 whose used-up token limit resets in 6m0s cools key A for 360 s (not the 30 s
    schedule); key B answers."""
    rig = make_engine(make_table([Spec("p", "m1", keys=("ka", "kb"))]))
    rig.upstream.script(_limited(_openai("6m0s")), key="ka")
    meta, _ = await rig.engine.complete(REQ)
    assert rig.upstream.calls == [("ka", "m1"), ("kb", "m1")]
    assert meta.profile == "p:1"
    assert rig.clock.sleeps == []
    cooled = rig.store._data[key_model_key(rig.engine.table.providers["p"].profiles[0], "m1")]
    assert cooled.cooldown_reason == "rate_limit"
    assert cooled.cooldown_until - rig.clock.now() == pytest.approx(360.0)  # not approx(epoch)


async def test_a_short_reset_is_waited_out_on_the_same_key() -> None:
    rig = make_engine(make_table([Spec("p", "m1", keys=("ka", "kb"))]))
    rig.upstream.script(_limited(_openai("1s", limit="requests")), key="ka")
    await rig.engine.complete(REQ)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m1")]
    assert rig.clock.sleeps == [pytest.approx(1.0)]


async def test_an_anthropic_reset_reaches_the_cooldown_through_its_transport() -> None:
    """Anthropic's replies go through the same classification, with the clock's ``now``."""
    table = make_table([Spec("p", "m1"), Spec("q", "m2")])
    providers = dict(table.providers)
    providers["p"] = replace(providers["p"], api="anthropic-messages")
    table = replace(table, providers=MappingProxyType(providers))
    upstream = Upstream()
    upstream.script(_limited(_anthropic("2027-01-15T08:02:00Z")), model="m1")
    client = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    clock, store = FakeClock(), MemoryStateStore()
    engine = FailoverEngine(
        table,
        transports={
            "anthropic-messages": AnthropicTransport(client),
            "openai-completions": OpenAICompatTransport(client),
        },
        store=store,
        audit=CapturingAuditSink(),
        clock=clock,
        jitter=lambda low, high: 0.5,
    )
    meta, _ = await engine.complete(REQ)
    assert meta.provider == "q"
    cooled = store._data[key_model_key(table.providers["p"].profiles[0], "m1")]
    assert cooled.cooldown_reason == "rate_limit"
    assert cooled.cooldown_until - NOW == pytest.approx(120.0)
