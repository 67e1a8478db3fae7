"""Stops and bad requests on the wire: the hard-stop 429, drift 404, 400s, never a 500."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import openai
import pytest

from openclaw_failover._errors import (
    AllCandidatesFailed,
    AttemptRecord,
    RequestRejected,
    RouteDriftError,
)
from openclaw_failover._exchange import ChatRequest
from openclaw_failover.proxy import create_app
from openclaw_failover.proxy._wire_errors import retry_after_s
from openclaw_failover.testing import CapturingAuditSink
from tests.fixtures.proxy import StubAnswer, StubEngine, running_server

HI = [{"role": "user", "content": "hi"}]
NOW = 1_800_000_000.0


class FixedClock:
    def now(self) -> float:
        return NOW

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        del seconds


def attempt(
    provider: str, model: str, reason: str, status: int | None, **kw: object
) -> AttemptRecord:
    return AttemptRecord(provider, model, f"{provider}:0", "cloud", reason, status, 12.0, **kw)  # type: ignore[arg-type]


ATTEMPTS = (
    attempt("p1", "m1", "rate_limit", 429, detail="Retry-After 900"),
    attempt("p2", "m2", "server_error", 500),
    attempt("ollama", "q", "rate_limit", None, skipped=True),
)


@pytest.fixture
def engine() -> StubEngine:
    return StubEngine()


@pytest.fixture
def url(engine: StubEngine) -> Iterator[str]:
    with running_server(create_app(engine, clock=FixedClock())) as base:
        yield base


def raising(exc: Exception):  # type: ignore[no-untyped-def]
    async def plan(request: ChatRequest) -> StubAnswer:
        del request
        raise exc

    return plan


def post(url: str, body: object = None, **kw: object) -> httpx.Response:
    if body is None:
        body = {"model": "auto", "messages": HI, "stream": True}
    return httpx.post(f"{url}/v1/chat/completions", json=body, **kw)  # type: ignore[arg-type]


def test_retry_after_is_at_least_61() -> None:
    """Retry-After is max(61, ceil(soonest - now)), and 61 when nothing is known."""
    assert retry_after_s(None, NOW) == 61
    assert retry_after_s(NOW + 5, NOW) == 61
    assert retry_after_s(NOW + 899.2, NOW) == 900


def test_hard_stop_is_a_real_429_with_every_attempt(url: str, engine: StubEngine) -> None:
    """A streaming request that hits the hard stop gets 429, Retry-After and the true soonest."""
    engine.plan = raising(AllCandidatesFailed(ATTEMPTS, soonest_retry_at=NOW + 899.2))
    response = post(url)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "900"
    assert response.headers["x-openclaw-failover-attempts"] == "3"
    assert response.headers["x-openclaw-failover-route-version"] == "v1"
    error = response.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    failover = error["failover"]
    assert failover["soonest_retry_at"] == NOW + 899.2
    assert failover["soonest_retry_at_iso"].endswith("Z")
    assert [a["provider"] for a in failover["attempts"]] == ["p1", "p2", "ollama"]
    assert failover["attempts"][2]["skipped"] is True
    message = error["message"].lower()
    for word in ("billing", "auth", "format", "context", "session", "rpm", "tpm", "per-minute"):
        assert word not in message
    # long-window rate-limit evidence for OpenClaw 2026.9.6: no same-model retries, even
    # without a fallback of its own (dist retry-evidence: LONG_WINDOW_RATE_LIMIT_RE)
    assert "usage limit" in message
    assert "retry after 900 seconds" in message


def test_hard_stop_short_soonest_still_61(url: str, engine: StubEngine) -> None:
    """A soonest expiry 5 s away still sends Retry-After 61 (OpenClaw would retry <= 60 s)."""
    engine.plan = raising(AllCandidatesFailed(ATTEMPTS, soonest_retry_at=NOW + 5))
    response = post(url, {"model": "auto", "messages": HI})
    assert response.headers["retry-after"] == "61"
    assert math.isclose(response.json()["error"]["failover"]["soonest_retry_at"], NOW + 5)


def test_sdk_sees_hard_stop_as_rate_limit(url: str, engine: StubEngine) -> None:
    """The openai SDK raises RateLimitError carrying the failover body."""
    engine.plan = raising(AllCandidatesFailed(ATTEMPTS, soonest_retry_at=None))
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        sdk.chat.completions.create(model="auto", messages=HI, stream=True)  # type: ignore[arg-type]
    assert info.value.response.headers["retry-after"] == "61"


def test_drift_is_404_model_not_found(url: str, engine: StubEngine) -> None:
    """Route drift is a 404 model_not_found naming the missing chain entry."""
    engine.plan = raising(RouteDriftError((attempt("p1", "gone-model", "model_not_found", 404),)))
    response = post(url)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found"
    assert error["type"] == "route_drift"
    assert "p1/gone-model" in error["message"]


def test_rejected_context_overflow_is_400(url: str, engine: StubEngine) -> None:
    """A context overflow comes back as 400 context_length_exceeded with the upstream's words."""
    engine.plan = raising(
        RequestRejected(
            (attempt("p1", "m1", "context_overflow", 400, detail="maximum context length is 8192"),)
        )
    )
    error = post(url).json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert "8192" in error["message"]


def test_a_rejection_passes_the_upstreams_words_on_masked(url: str, engine: StubEngine) -> None:
    """A 400 upstream_rejected says what the upstream said was wrong, so the caller can fix
    it; anything key-shaped in those words is masked."""
    words = "messages[3]: tool_call_id 'call_9' has no matching tool call"
    words += " (key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX)"
    engine.plan = raising(
        RequestRejected(
            (attempt("p1", "m1", "format", 400, detail="400 invalid_request_error"),),
            upstream_message=words,
        )
    )
    response = post(url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "upstream_rejected"
    assert "tool_call_id 'call_9' has no matching tool call" in error["message"]
    assert "ABCDEFGHIJKLMNOP" not in response.text


def test_unexpected_engine_bug_is_clean_500(url: str, engine: StubEngine) -> None:
    """A bug inside the engine gives an OpenAI-style 500 without a stack trace."""
    engine.plan = raising(ZeroDivisionError("boom"))
    response = post(url)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "Traceback" not in response.text
    assert "boom" not in response.text


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "expected an object"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "field 'model'"),
        (b'{"model": "auto", "messages": []}', 400, "field 'messages'"),
        (b'{"model": "auto", "messages": "hi"}', 400, "field 'messages'"),
        (b'{"model": "auto", "messages": [{}], "stream": "yes"}', 400, "field 'stream'"),
        (b'{"model": "auto", "messages": [{}], "tools": {}}', 400, "field 'tools'"),
        (b'{"model": "auto", "messages": [{}], "max_tokens": true}', 400, "field 'max_tokens'"),
        (b'{"model": "nope", "messages": [{}]}', 404, "expected one of the routes: auto, batch"),
    ],
)
def test_bad_requests_are_openai_errors(url: str, body: bytes, status: int, needle: str) -> None:
    """Malformed JSON, wrong types and unknown routes give 400/404 naming the field."""
    response = httpx.post(
        f"{url}/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert needle in error["message"]
    assert response.headers["x-openclaw-failover-attempts"] == "0"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-openclaw-failover-mode", "turbo"),
        ("x-openclaw-failover-deadline-ms", "-5"),
        ("x-openclaw-failover-deadline-ms", "soon"),
    ],
)
def test_bad_budget_headers_are_400(url: str, header: str, value: str) -> None:
    """An invalid mode or deadline header is a 400 naming the header."""
    response = post(url, headers={header: value})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == header


def test_wrong_method_and_path_are_openai_errors(url: str) -> None:
    """A wrong method is 405 and an unknown path 404, both as OpenAI-style JSON."""
    wrong_method = httpx.get(f"{url}/v1/chat/completions")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert wrong_method.headers["allow"] == "POST"  # RFC 9110: a 405 names what is allowed
    assert "allowed: POST" in wrong_method.json()["error"]["message"]
    missing = httpx.post(f"{url}/v1/embeddings", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_client_error_is_audited_by_the_line_schema() -> None:
    """A rejected request writes one outcome line (client_error) that fits the line schema."""
    schema = json.loads(
        (Path(__file__).parent.parent / "schemas" / "audit-record.schema.json").read_text()
    )
    sink = CapturingAuditSink()
    with running_server(create_app(StubEngine(), audit=sink)) as base:
        httpx.post(
            f"{base}/v1/chat/completions", content=b"{nope", headers={"x-request-id": "bad-1"}
        )
    (record,) = sink.records
    assert (record.event, record.outcome, record.status, record.request_id) == (
        "outcome",
        "client_error",
        400,
        "bad-1",
    )
    jsonschema.validate(record.to_json(), schema)


def test_bug_before_the_response_on_the_short_way_is_clean_500(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in the chat endpoint before its response started (outside the engine's own
    error handling) is a logged, clean OpenAI-style 500: the short way past Starlette keeps
    what Starlette's error middleware gave."""
    from openclaw_failover.proxy import _chat

    def broken(headers: object) -> None:
        raise ZeroDivisionError("boom-detail")

    monkeypatch.setattr(_chat, "parse_headers", broken)
    response = post(url)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.headers["x-request-id"]
    assert "boom-detail" not in response.text
    assert "Traceback" not in response.text
    assert any("boom-detail" in str(r.exc_info and r.exc_info[1]) for r in caplog.records)


def test_chat_path_with_another_method_is_still_routed(url: str, engine: StubEngine) -> None:
    """Only a POST takes the short way: other methods on the chat paths get Starlette's 405,
    and both chat paths answer a POST."""
    for path in ("/v1/chat/completions", "/chat/completions"):
        assert httpx.get(f"{url}{path}").status_code == 405
        assert httpx.put(f"{url}{path}", json={}).status_code == 405
    assert post(url, {"model": "auto", "messages": HI}).status_code == 200
    short = httpx.post(f"{url}/chat/completions", json={"model": "auto", "messages": HI})
    assert short.status_code == 200
    assert len(engine.requests) == 2
