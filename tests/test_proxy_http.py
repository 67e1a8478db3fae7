"""The proxy over real HTTP on 127.0.0.1 with the official ``openai`` SDK (stub engine)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from openclaw_failover._exchange import ChatRequest
from openclaw_failover.proxy import create_app
from tests.fixtures.proxy import StubAnswer, StubEngine, chunk, meta, running_server

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def engine() -> StubEngine:
    return StubEngine()


@pytest.fixture
def url(engine: StubEngine) -> Iterator[str]:
    with running_server(create_app(engine)) as base:
        yield base


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=10)


def test_non_stream_answer_through_sdk(url: str, engine: StubEngine) -> None:
    """A non-stream SDK call gets the upstream model's answer and usage, not the route alias."""
    raw = client(url).chat.completions.with_raw_response.create(model="auto", messages=HI)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello"
    assert completion.model == "m1"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 5
    assert raw.headers["x-openclaw-failover-provider"] == "p1"
    assert raw.headers["x-openclaw-failover-profile"] == "p1:team"
    assert engine.requests[0].stream is False
    assert "model" not in engine.requests[0].body


def test_stream_through_sdk_with_headers(url: str, engine: StubEngine) -> None:
    """A streaming SDK call receives every chunk and the who-answered headers."""
    raw = client(url).chat.completions.with_raw_response.create(
        model="auto", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == "Hello"
    for name in ("provider", "model", "profile", "tier", "attempts", "route-version", "downgraded"):
        assert f"x-openclaw-failover-{name}" in raw.headers
    assert raw.headers["x-openclaw-failover-downgraded"] == "false"
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert engine.requests[0].stream is True
    assert engine.requests[0].body["stream_options"] == {"include_usage": True}


def test_downgraded_answer_says_so(url: str, engine: StubEngine) -> None:
    """An answer from a fallback carries downgraded=true and the fallback's model."""

    async def fallback(request: ChatRequest) -> StubAnswer:
        del request
        m = meta(provider="p2", model="m2", profile="p2:0", attempts=3, downgraded=True)
        return StubAnswer(m, [chunk("ok", model="m2")])

    engine.plan = fallback
    raw = client(url).chat.completions.with_raw_response.create(model="auto", messages=HI)
    assert raw.parse().model == "m2"
    assert raw.headers["x-openclaw-failover-downgraded"] == "true"
    assert raw.headers["x-openclaw-failover-attempts"] == "3"


def test_each_answer_carries_its_own_who_answered_headers(url: str, engine: StubEngine) -> None:
    """The endpoint encodes an answer's headers once per meta object: answers from two
    metas in turn, and the same meta again, each carry their own provider and attempts."""
    first = meta(provider="p1", model="m1", profile="p1:0", attempts=1)
    second = meta(provider="p2", model="m2", profile="p2:1", attempts=2, downgraded=True)
    order = [first, second, first, second]

    async def plan(request: ChatRequest) -> StubAnswer:
        del request
        m = order.pop(0)
        return StubAnswer(m, [chunk("ok", model=m.model)])

    engine.plan = plan
    seen = []
    for _ in range(4):
        raw = client(url).chat.completions.with_raw_response.create(model="auto", messages=HI)
        headers = raw.headers
        seen.append(
            (
                headers["x-openclaw-failover-provider"],
                headers["x-openclaw-failover-profile"],
                headers["x-openclaw-failover-attempts"],
                headers["x-openclaw-failover-downgraded"],
            )
        )
    one, two = ("p1", "p1:0", "1", "false"), ("p2", "p2:1", "2", "true")
    assert seen == [one, two, one, two]


def test_tools_and_tool_calls_pass_through(url: str, engine: StubEngine) -> None:
    """Tools reach the engine unchanged and a streamed tool call reaches the SDK intact."""
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "read", "arguments": '{"path": "a.txt"}'},
    }

    async def tool_answer(request: ChatRequest) -> StubAnswer:
        del request
        return StubAnswer(meta(), [chunk(role="assistant", tool_calls=[call])])

    engine.plan = tool_answer
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "read",
                "description": "Read a file.",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
            },
        }
    ]
    stream = client(url).chat.completions.create(
        model="auto", messages=HI, tools=tools, tool_choice="auto", stream=True
    )
    calls = [tc for c in stream for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].function is not None
    assert calls[0].function.name == "read"
    assert json.loads(calls[0].function.arguments or "") == {"path": "a.txt"}
    assert engine.requests[0].body["tools"] == tools
    assert engine.requests[0].body["tool_choice"] == "auto"


def test_request_id_echoed_and_generated(url: str) -> None:
    """x-request-id is echoed when sent and generated when not, on streams too."""
    body = {"model": "auto", "messages": HI, "stream": True}
    echoed = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"x-request-id": "r-42"})
    assert echoed.headers["x-request-id"] == "r-42"
    fresh = httpx.post(f"{url}/v1/chat/completions", json=body)
    assert len(fresh.headers["x-request-id"]) == 32
    assert fresh.text.endswith("data: [DONE]\n\n")
    bad_header = {"x-openclaw-failover-mode": "fast", "x-request-id": "r-43"}
    refused = httpx.post(f"{url}/v1/chat/completions", json=body, headers=bad_header)
    assert refused.status_code == 400
    assert refused.headers["x-request-id"] == "r-43"  # echoed on a header's refusal too


def test_trace_mode_and_capped_deadline_reach_engine(url: str, engine: StubEngine) -> None:
    """traceparent gives the trace id; mode and deadline headers set budgets (deadline capped)."""
    headers = {
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "x-openclaw-failover-mode": "batch",
        "x-openclaw-failover-deadline-ms": "999999999",
    }
    body = {"model": "batch", "messages": HI}
    assert httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers).status_code == 200
    request = engine.requests[0]
    assert request.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert request.mode == "batch"
    assert request.route == "batch"
    assert request.first_token_deadline_s == 300.0
    assert request.upstream_headers["traceparent"].startswith("00-4bf9")


def test_short_deadline_header_is_seconds(url: str, engine: StubEngine) -> None:
    """A deadline under the cap is passed as seconds."""
    headers = {"x-openclaw-failover-deadline-ms": "1500"}
    httpx.post(
        f"{url}/v1/chat/completions", json={"model": "auto", "messages": HI}, headers=headers
    )
    assert engine.requests[0].first_token_deadline_s == 1.5


def test_models_lists_routes(url: str) -> None:
    """GET /v1/models lists each route with its candidates, readable by the SDK."""
    ids = [m.id for m in client(url).models.list()]
    assert ids == ["auto", "batch"]
    raw = httpx.get(f"{url}/v1/models").json()
    assert raw["data"][0]["candidates"][2] == {"provider": "ollama", "model": "q", "tier": "local"}


def test_one_model_by_id_is_the_sdks_retrieve(url: str) -> None:
    """GET /v1/models/{id} (the SDK's models.retrieve) gives that route; an unknown one is a
    404 the SDK raises as NotFoundError, naming the routes there are, with the request id."""
    with client(url) as sdk:
        model = sdk.models.retrieve("batch")
        assert model.id == "batch"
        assert model.owned_by == "openclaw-failover"
        with pytest.raises(openai.NotFoundError) as info:
            sdk.models.retrieve("gpt-4o")
        message = str(info.value)
        del info  # the error holds the response; the client closes its connection below
    assert "found 'gpt-4o'; expected one of the proxy's routes (auto, batch)" in message
    raw = httpx.get(f"{url}/v1/models/no/such", headers={"x-request-id": "rid-7"})
    assert raw.status_code == 404
    assert raw.headers["x-request-id"] == "rid-7"
    assert raw.json()["error"]["code"] == "model_not_found"


def test_small_routes_echo_a_request_id_cut_at_128_as_the_chat_endpoint_does(url: str) -> None:
    long_id = "r" * 500
    for path in ("/v1/models", "/v1/models/auto", "/healthz", "/no-such-path"):
        raw = httpx.get(f"{url}{path}", headers={"x-request-id": long_id})
        assert raw.headers["x-request-id"] == "r" * 128, path


def test_healthz_and_metrics(url: str) -> None:
    """/healthz answers ok; /metrics counts requests and attempts by provider."""
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    client(url).chat.completions.create(model="auto", messages=HI)
    text = httpx.get(f"{url}/metrics").text
    assert (
        'openclaw_failover_requests_total{outcome="answered",route="auto",stream="false"} 1.0'
        in text
    )
    assert (
        'openclaw_failover_attempts_total{model="m1",provider="p1",reason="ok",tier="cloud"} 1.0'
        in text
    )


def test_each_app_has_its_own_registry() -> None:
    """Two apps in one process never share metrics (no global registry)."""
    a, b = create_app(StubEngine()), create_app(StubEngine())
    a.state.runtime.metrics.reloads.labels("applied").inc()
    assert b.state.runtime.metrics.registry is not a.state.runtime.metrics.registry
    assert b"applied" not in b.state.runtime.metrics.render()


def test_only_well_formed_trace_headers_go_upstream() -> None:
    """traceparent/tracestate with bytes an upstream request cannot carry (non-ASCII, control
    characters) or a malformed traceparent stay here (found by header fuzzing: a b'\\x80'
    traceparent became a 500 when the upstream request was built)."""
    from openclaw_failover.proxy._request import parse_headers

    good = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    kept = parse_headers([(b"traceparent", good), (b"tracestate", b"a=1,b=2")])
    assert kept.forwarded == (("traceparent", good.decode()), ("tracestate", "a=1,b=2"))
    dropped = parse_headers(
        [(b"traceparent", b"\x80"), (b"tracestate", b"a=\x80"), (b"tracestate", b"a\x01")]
    )
    assert dropped.forwarded == ()
    assert parse_headers([(b"traceparent", b"00-nothex-01")]).forwarded == ()
