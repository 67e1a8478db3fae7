"""The proxy from the client's side: the official ``openai`` SDK's retry on a hard stop, a
compressed request body, and the request id on every error reply."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest

from openclaw_failover._errors import AllCandidatesFailed, AttemptRecord
from openclaw_failover._exchange import ChatRequest
from openclaw_failover.proxy import _chat, create_app
from openclaw_failover.proxy._routes import SmallRoutes
from openclaw_failover.testing import FakeClock
from tests.fixtures.proxy import StubAnswer, StubEngine, chunk, meta, running_server

HI = [{"role": "user", "content": "hi"}]
NOW = 1_800_000_000.0
COOLING = (AttemptRecord("p1", "m1", "p1:0", "cloud", "rate_limit", 429, 3.0),)


@pytest.fixture
def engine() -> StubEngine:
    return StubEngine()


@pytest.fixture
def url(engine: StubEngine) -> Iterator[str]:
    with running_server(create_app(engine, clock=FakeClock(NOW))) as base:
        yield base


def hard_stop_then_answer(soonest_in_s: float):  # type: ignore[no-untyped-def]
    """The first request hits the hard stop (soonest candidate free in ``soonest_in_s``),
    later ones are answered."""
    calls = 0

    async def plan(request: ChatRequest) -> StubAnswer:
        nonlocal calls
        del request
        calls += 1
        if calls == 1:
            raise AllCandidatesFailed(COOLING, soonest_retry_at=NOW + soonest_in_s)
        return StubAnswer(meta(), [chunk(role="assistant"), chunk("back")])

    return plan


@pytest.mark.parametrize(("soonest_in_s", "ms"), [(0.25, "250"), (900.0, "900000")])
def test_hard_stop_sends_the_true_wait_in_retry_after_ms(
    url: str, engine: StubEngine, soonest_in_s: float, ms: str
) -> None:
    """Retry-After keeps its 61 s floor (for OpenClaw); retry-after-ms is the true wait."""
    engine.plan = hard_stop_then_answer(soonest_in_s)
    response = httpx.post(f"{url}/v1/chat/completions", json={"model": "auto", "messages": HI})
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(max(61, int(soonest_in_s)))
    assert response.headers["retry-after-ms"] == ms


def test_hard_stop_with_no_known_soonest_has_no_retry_after_ms(
    url: str, engine: StubEngine
) -> None:
    """With no soonest time, only the 61 s Retry-After goes out (no invented wait)."""

    async def plan(request: ChatRequest) -> StubAnswer:
        del request
        raise AllCandidatesFailed(COOLING, soonest_retry_at=None)

    engine.plan = plan
    response = httpx.post(f"{url}/v1/chat/completions", json={"model": "auto", "messages": HI})
    assert response.headers["retry-after"] == "61"
    assert "retry-after-ms" not in response.headers


async def test_sdk_retries_a_hard_stop_when_the_soonest_candidate_is_free(
    url: str, engine: StubEngine
) -> None:
    """The SDK's own retry waits for the soonest candidate (0.25 s), not the 61 s floor, and
    then gets the answer."""
    engine.plan = hard_stop_then_answer(0.25)
    async with openai.AsyncOpenAI(
        base_url=f"{url}/v1", api_key="x", max_retries=1, timeout=10
    ) as sdk:
        completion = await asyncio.wait_for(
            sdk.chat.completions.create(model="auto", messages=HI),  # type: ignore[arg-type]
            timeout=10,
        )
    assert completion.choices[0].message.content == "back"
    assert len(engine.requests) == 2


def test_a_gzip_body_is_refused_with_415_naming_content_encoding(
    url: str, engine: StubEngine
) -> None:
    """A gzip-encoded body is a 415 naming the header, never a confusing JSON error, and
    nothing reaches the engine; the connection stays usable; identity is plain JSON."""
    body = orjson.dumps({"model": "auto", "messages": HI})
    with httpx.Client(base_url=url) as client:
        refused = client.post(
            "/v1/chat/completions",
            content=gzip.compress(body),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        assert refused.status_code == 415
        error = refused.json()["error"]
        assert error["code"] == "unsupported_content_encoding"
        assert error["param"] == "content-encoding"
        assert "content-encoding" in error["message"]
        assert "'gzip'" in error["message"]
        assert "UTF-8" not in error["message"]
        assert engine.requests == []
        plain = client.post(
            "/v1/chat/completions",
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Content-Encoding": "identity",
            },
        )
    assert plain.status_code == 200
    assert len(engine.requests) == 1


def test_sdk_raises_a_clear_error_for_a_compressed_body(url: str) -> None:
    """The SDK (sending a gzip body by hand) gets an APIStatusError 415, not retried."""
    with (
        openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=2, timeout=10) as sdk,
        pytest.raises(openai.APIStatusError) as info,
    ):
        sdk.post(
            "/chat/completions",
            cast_to=httpx.Response,
            content=gzip.compress(orjson.dumps({"model": "auto", "messages": HI})),
            options={"headers": {"Content-Encoding": "gzip", "Content-Type": "application/json"}},
        )
    assert info.value.status_code == 415
    assert info.value.code == "unsupported_content_encoding"
    assert info.value.response.request.headers.get("x-stainless-retry-count") == "0"


def test_404_and_405_echo_the_request_id(url: str) -> None:
    """Starlette's 404 and 405 echo the client's x-request-id, as every other reply does."""
    missing = httpx.get(f"{url}/v1/embeddings", headers={"x-request-id": "rid-404"})
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == "rid-404"
    wrong = httpx.get(f"{url}/v1/chat/completions", headers={"X-Request-ID": "rid-405"})
    assert wrong.status_code == 405
    assert wrong.headers["x-request-id"] == "rid-405"
    assert wrong.headers["allow"] == "POST"


def test_a_bug_in_a_small_route_echoes_the_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clean 500 of a bug in a small route echoes the client's x-request-id."""

    async def broken(self: SmallRoutes, request: object) -> None:
        raise ZeroDivisionError("models-bug")

    monkeypatch.setattr(SmallRoutes, "models", broken)
    with running_server(create_app(StubEngine())) as base:
        response = httpx.get(f"{base}/v1/models", headers={"x-request-id": "rid-500"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "rid-500"
    assert "models-bug" not in response.text


def test_a_bug_on_the_chat_short_way_echoes_the_request_id(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clean 500 of a bug before the chat response started echoes x-request-id."""

    def broken(headers: object) -> None:
        raise ZeroDivisionError("chat-bug")

    monkeypatch.setattr(_chat, "parse_headers", broken)
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "auto", "messages": HI},
        headers={"x-request-id": "rid-chat-500"},
    )
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "rid-chat-500"
