"""Streams, hangs, cut connections, the body limit and the token over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import openai
import pytest

from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import ProxySettings, Secret
from openclaw_failover.proxy import create_app
from tests.fixtures.proxy import (
    StubAnswer,
    StubEngine,
    chunk,
    interrupted,
    make_table,
    meta,
    running_server,
)

HI = [{"role": "user", "content": "hi"}]


def wait_for(predicate, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def limited_engine(max_body: int = 1024, token: str | None = None) -> StubEngine:
    proxy = ProxySettings(max_body_bytes=max_body, token=Secret(token) if token else None)
    return StubEngine(table=make_table(proxy=proxy))


@pytest.fixture
def engine() -> StubEngine:
    return limited_engine()


@pytest.fixture
def url(engine: StubEngine) -> Iterator[str]:
    with running_server(create_app(engine)) as base:
        yield base


def raw_exchange(url: str, request: bytes, *, read_s: float = 5.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_s) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            part = sock.recv(65536)
            if not part:
                break
            data += part
        return data


def test_stream_interrupted_ends_with_error_event(url: str, engine: StubEngine) -> None:
    """A stream that breaks after its first byte ends with an error event and no [DONE]."""

    async def breaks(request: ChatRequest) -> StubAnswer:
        del request
        return StubAnswer(meta(), [chunk("part")], fail_with=interrupted())

    engine.plan = breaks
    body = {"model": "auto", "messages": HI, "stream": True}
    text = httpx.post(f"{url}/v1/chat/completions", json=body).text
    assert '"content":"part"' in text
    assert '"code":"stream_interrupted"' in text
    assert "[DONE]" not in text
    assert engine.answers[0].closed


def test_sdk_raises_on_interrupted_stream(url: str, engine: StubEngine) -> None:
    """The openai SDK raises APIError on the error event instead of a truncated success."""

    async def breaks(request: ChatRequest) -> StubAnswer:
        del request
        return StubAnswer(meta(), [chunk("part")], fail_with=interrupted())

    engine.plan = breaks
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    stream = sdk.chat.completions.create(model="auto", messages=HI, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError, match="stream failed"):
        for _ in stream:
            pass


def test_the_usage_chunk_goes_only_to_a_stream_that_asked_for_it(
    url: str, engine: StubEngine
) -> None:
    """The proxy always asks the upstream for usage (for the audit), but passes the closing
    usage chunk (no choices) on only to a request with ``stream_options.include_usage``, as
    OpenAI does: a client reading ``chunk.choices[0]`` must not meet an empty list."""
    usage = {**chunk(), "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}

    async def answers(request: ChatRequest) -> StubAnswer:
        del request
        return StubAnswer(meta(), [chunk("hi"), usage])

    engine.plan = answers
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    plain = list(sdk.chat.completions.create(model="auto", messages=HI, stream=True))  # type: ignore[arg-type]
    assert [c.choices[0].delta.content for c in plain] == ["hi"]
    asked = list(
        sdk.chat.completions.create(
            model="auto",
            messages=HI,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert [len(c.choices) for c in asked] == [1, 0]
    assert asked[-1].usage is not None
    assert asked[-1].usage.prompt_tokens == 3


def test_client_gone_while_held_cancels_engine(url: str, engine: StubEngine) -> None:
    """A client that disconnects during a silent upstream cancels the engine's work."""

    async def silent(request: ChatRequest) -> StubAnswer:
        del request
        await asyncio.sleep(30)
        raise AssertionError("never reached")

    engine.plan = silent
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "auto", "messages": HI, "stream": True},
            timeout=0.3,
        )
    wait_for(lambda: len(engine.cancelled) == 1)


def test_client_cut_mid_stream_releases_answer(url: str, engine: StubEngine) -> None:
    """Cutting the connection mid-stream closes the upstream answer."""

    async def slow(request: ChatRequest) -> StubAnswer:
        del request
        return StubAnswer(meta(), [chunk(str(i)) for i in range(200)], gap_s=0.05)

    engine.plan = slow
    body = {"model": "auto", "messages": HI, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break
    wait_for(lambda: bool(engine.answers) and engine.answers[0].closed)


def test_body_refused_from_content_length_before_reading(url: str) -> None:
    """A Content-Length over the limit gets 413 although the body was never sent."""
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\n"
        b'content-length: 10000000\r\n\r\n{"model":'
    )
    reply = raw_exchange(url, head)
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"proxy.maxBodyBytes" in reply


def test_chunked_body_refused_while_reading(url: str) -> None:
    """A chunked body is refused with 413 as soon as it passes the limit."""

    def parts() -> Iterator[bytes]:
        yield b'{"model": "auto", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 512

    response = httpx.post(f"{url}/v1/chat/completions", content=parts())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_token_required_when_configured() -> None:
    """With a token set, requests without it get 401; /healthz stays open; the right one passes."""
    engine = limited_engine(max_body=1 << 20, token="s3cret-token")
    with running_server(create_app(engine)) as base:
        body = {"model": "auto", "messages": HI}
        denied = httpx.post(
            f"{base}/v1/chat/completions", json=body, headers={"x-request-id": "r-denied"}
        )
        assert denied.status_code == 401
        assert denied.headers["x-request-id"] == "r-denied"
        assert "s3cret" not in denied.text
        wrong = httpx.get(f"{base}/v1/models", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert httpx.get(f"{base}/healthz").status_code == 200
        sdk = openai.OpenAI(base_url=f"{base}/v1", api_key="s3cret-token", max_retries=0)
        assert sdk.chat.completions.create(model="auto", messages=HI).model == "m1"  # type: ignore[arg-type]
        # RFC 9110: the scheme is case-insensitive; the token is not.
        for value, status in (("bearer s3cret-token", 200), ("BEARER  s3cret-token", 200)):
            answer = httpx.get(f"{base}/v1/models", headers={"authorization": value})
            assert answer.status_code == status, value
        for value in ("bearer S3CRET-TOKEN", "Basic s3cret-token", "s3cret-token"):
            answer = httpx.get(f"{base}/v1/models", headers={"authorization": value})
            assert answer.status_code == 401, value


def test_reloaded_token_applies_at_once(engine: StubEngine) -> None:
    """A token set by a reload is enforced on the next request."""
    with running_server(create_app(engine)) as base:
        assert httpx.get(f"{base}/v1/models").status_code == 200
        proxy = ProxySettings(token=Secret("new-token"))
        engine.replace_table(
            replace(engine.table, settings=replace(engine.table.settings, proxy=proxy))
        )
        assert httpx.get(f"{base}/v1/models").status_code == 401


def test_stalled_body_gets_408() -> None:
    """A client that declares a body and stops sending gets 408 at the body timeout."""
    with running_server(create_app(limited_engine(), body_timeout_s=0.3)) as base:
        head = (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            b"content-type: application/json\r\n"
            b'content-length: 500\r\n\r\n{"model":'
        )
        started = time.monotonic()
        reply = raw_exchange(base, head)
    assert reply.startswith(b"HTTP/1.1 408")
    assert b"request_timeout" in reply
    assert time.monotonic() - started < 3


def test_with_no_token_a_foreign_host_or_origin_is_refused(url: str, engine: StubEngine) -> None:
    """With no token (a loopback proxy), a request addressed to another name (DNS rebinding)
    or sent from a page of another site (Origin) gets a 403 naming the header, what it held
    and what is expected, and never reaches the engine; loopback names and origins pass,
    and /healthz stays open."""
    body = {"model": "auto", "messages": HI}
    chat = f"{url}/v1/chat/completions"
    port = url.rsplit(":", 1)[1]
    foreign = [
        {"host": f"rebound.example:{port}"},
        {"host": "127.0.0.1.nip.io"},
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://[::1"},
    ]
    for headers in foreign:
        refused = httpx.post(chat, json=body, headers=headers)
        assert refused.status_code == 403, headers
        error = refused.json()["error"]
        (header, value), *_ = headers.items()
        assert error["code"] == f"forbidden_{header}"
        assert f"header {header!r}: found {value!r}" in error["message"]
        assert "expected localhost, 127.0.0.1 or [::1]" in error["message"]
        assert httpx.get(f"{url}/v1/models", headers=headers).status_code == 403
    assert engine.requests == []
    local = [
        {},
        {"host": f"localhost:{port}"},
        {"host": f"[::1]:{port}"},
        {"host": "127.0.0.2"},
        {"origin": "http://localhost:3000"},
    ]
    for headers in local:
        assert httpx.post(chat, json=body, headers=headers).status_code == 200, headers
    assert len(engine.requests) == len(local)
    assert httpx.get(f"{url}/healthz", headers={"host": "rebound.example"}).status_code == 200


def test_with_a_token_the_token_decides_whatever_the_host() -> None:
    """With a token set (a remote bind, or a reverse proxy in front), another host name or an
    origin is no reason to refuse: the right token passes, a wrong one gets the 401."""
    engine = limited_engine(max_body=1 << 20, token="s3cret-token")
    with running_server(create_app(engine)) as base:
        body = {"model": "auto", "messages": HI}
        headers = {"host": "proxy.internal.example", "origin": "https://ui.example"}
        right = httpx.post(
            f"{base}/v1/chat/completions",
            json=body,
            headers={**headers, "authorization": "Bearer s3cret-token"},
        )
        wrong = httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers)
    assert right.status_code == 200
    assert wrong.status_code == 401
    assert len(engine.requests) == 1
