"""The pooled HTTP/1.1 transport: keep-alive reuse, framing, and httpx's error classes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import orjson
import pytest

from openclaw_failover.providers._http1 import PooledClient, PooledHTTP1Transport
from openclaw_failover.providers.openai import OpenAICompatTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server running ``handler`` per connection; yields its URL and a list that
    grows by one per accepted connection."""
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", accepted
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The head and body of one request (bodies framed by content-length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


async def each_request(reader: asyncio.StreamReader) -> AsyncIterator[tuple[bytes, bytes]]:
    """The head and body of each request on a connection, until the client goes (closes or
    resets it)."""
    while True:
        try:
            yield await read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return


def client(**limits: float) -> httpx.AsyncClient:
    transport = PooledHTTP1Transport(**limits)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0), trust_env=False)


async def test_keep_alive_reuses_one_connection() -> None:
    """Sequential requests travel on one connection, with the head and body intact."""
    seen: list[tuple[bytes, bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(OK)

    async with raw_server(handler) as (url, accepted), client() as http:
        for n in range(3):
            reply = await http.post(f"{url}/v1/x?q={n}", content=b'{"a":1}')
            assert reply.status_code == 200
            assert reply.json() == {}
    assert len(accepted) == 1
    head, body = seen[2]
    assert head.startswith(b"POST /v1/x?q=2 HTTP/1.1\r\n")
    assert b"content-length: 7" in head.lower()
    assert body == b'{"a":1}'


async def test_chunked_body_streams_and_connection_returns() -> None:
    """A chunked body arrives in pieces; read to its end, the connection is reused."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)
            writer.write(b"6\r\n world\r\n0\r\n\r\n")

    async with raw_server(handler) as (url, accepted), client() as http:
        for _ in range(2):
            async with http.stream("POST", url, content=b"{}") as reply:
                parts = [part async for part in reply.aiter_bytes()]
            assert b"".join(parts) == b"hello world"
            assert len(parts) == 2
    assert len(accepted) == 1


async def test_response_closed_early_drops_the_connection() -> None:
    """A body closed before its end is not reused: the next request opens a new one."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await asyncio.sleep(1)

    async with raw_server(handler) as (url, accepted), client() as http:
        for _ in range(2):
            async with http.stream("POST", url, content=b"{}") as reply:
                async for _ in reply.aiter_bytes():
                    break
    assert len(accepted) == 2


async def test_body_until_close_without_length() -> None:
    """A body with neither length nor chunking ends when the server closes."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")

    async with raw_server(handler) as (url, _), client() as http:
        reply = await http.post(url, content=b"{}")
    assert reply.content == b"all of it"


async def test_connection_refused_is_connect_error() -> None:
    """Nobody listening: httpx.ConnectError, as with httpx's own transport."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.post(f"http://127.0.0.1:{port}/", content=b"{}")


async def test_silent_server_is_read_timeout() -> None:
    """No response within the read timeout: httpx.ReadTimeout."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(2)

    async with raw_server(handler) as (url, _), client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(url, content=b"{}", timeout=httpx.Timeout(5.0, read=0.1))


async def test_close_before_response_is_remote_protocol_error() -> None:
    """A server that hangs up without answering: httpx.RemoteProtocolError."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with raw_server(handler) as (url, _), client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(url, content=b"{}")


async def test_cut_mid_body_is_remote_protocol_error() -> None:
    """A chunked body cut before its terminator: httpx.RemoteProtocolError while reading."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()

    async with (
        raw_server(handler) as (url, _),
        client() as http,
        http.stream("POST", url, content=b"{}") as reply,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            async for _ in reply.aiter_bytes():
                pass


async def test_garbage_is_remote_protocol_error() -> None:
    """Bytes that are not HTTP: httpx.RemoteProtocolError."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await asyncio.sleep(0.5)

    async with raw_server(handler) as (url, _), client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(url, content=b"{}")


async def test_max_connections_makes_a_request_wait() -> None:
    """With one slot, a second request waits for the first response to be closed."""
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            await release.wait()
            writer.write(OK)

    async with raw_server(handler) as (url, accepted), client(max_connections=1) as http:
        first = asyncio.create_task(http.post(url, content=b"{}"))
        second = asyncio.create_task(http.post(url, content=b"{}"))
        await asyncio.sleep(0.1)
        assert len(accepted) == 1
        release.set()
        replies = await asyncio.gather(first, second)
    assert [r.status_code for r in replies] == [200, 200]
    assert len(accepted) == 1


def sse_chunk(data: bytes) -> bytes:
    event = b"data: " + data + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


async def test_openai_stream_after_done_keeps_the_connection() -> None:
    """The OpenAI adapter reads past ``[DONE]`` to a terminator that arrives a moment later,
    so streams share one connection instead of opening one each."""
    from openclaw_failover._model import Candidate, Provider
    from openclaw_failover._ports import UpstreamCall

    chunk = b'{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
            writer.write(b"transfer-encoding: chunked\r\n\r\n")
            writer.write(sse_chunk(chunk) + sse_chunk(b"[DONE]"))
            await writer.drain()
            await asyncio.sleep(0.02)
            writer.write(b"0\r\n\r\n")

    async with raw_server(handler) as (url, accepted), client() as http:
        provider = Provider("p", "openai-completions", url + "/v1")
        call = UpstreamCall(provider, Candidate("p", "m"), None, {"messages": []}, {})
        transport = OpenAICompatTransport(http)
        for _ in range(3):
            async with transport.send(call) as reply:
                chunks = [c async for c in reply.chunks()]
            assert chunks == [orjson.loads(chunk)]
    assert len(accepted) == 1


@pytest.mark.parametrize("pooled_client", [False, True])
async def test_openai_stream_whose_terminator_never_comes_ends_after_the_drain_limit(
    monkeypatch: pytest.MonkeyPatch, pooled_client: bool
) -> None:
    """After ``[DONE]`` the adapter waits at most ``DRAIN_S`` for the rest of the body, under
    httpx's own client or the proxy's (whose transport says when the rest is already here):
    the answer still ends, and only that connection is lost (the next request opens another)."""
    from openclaw_failover._model import Candidate, Provider
    from openclaw_failover._ports import UpstreamCall
    from openclaw_failover.providers import _wire

    monkeypatch.setattr(_wire, "DRAIN_S", 0.2)
    chunk = b'{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n")
        writer.write(sse_chunk(chunk) + sse_chunk(b"[DONE]"))
        await writer.drain()
        await asyncio.sleep(5)  # no terminator

    http = (
        PooledClient(PooledHTTP1Transport(), timeout=httpx.Timeout(5.0))
        if pooled_client
        else client()
    )
    async with raw_server(handler) as (url, accepted), http:
        provider = Provider("p", "openai-completions", url + "/v1")
        call = UpstreamCall(provider, Candidate("p", "m"), None, {"messages": []}, {})
        transport = OpenAICompatTransport(http)
        loop = asyncio.get_running_loop()
        for _ in range(2):
            started = loop.time()
            async with transport.send(call) as reply:
                chunks = await asyncio.wait_for(_all(reply.chunks()), 3)
            assert chunks == [orjson.loads(chunk)]
            assert 0.15 <= loop.time() - started < 2
    assert len(accepted) == 2


async def _all(items: AsyncIterator[object]) -> list[object]:
    return [item async for item in items]


async def test_pooled_client_sends_as_built_and_keeps_no_cookies() -> None:
    """The proxy's client reads a whole body, ignores Set-Cookie, and refuses auth/redirects."""
    from openclaw_failover.proxy import open_http_client

    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            seen.append(head)
            writer.write(b"HTTP/1.1 200 OK\r\nset-cookie: s=1\r\ncontent-length: 2\r\n\r\nok")

    async with raw_server(handler) as (url, _), open_http_client() as http:
        first = await http.post(url, content=b"{}")
        second = await http.get(url)
        with pytest.raises(ValueError, match="no auth"):
            await http.get(url, auth=("u", "p"))
    assert first.content == b"ok"
    assert second.status_code == 200
    assert not http.cookies
    assert all(b"cookie:" not in head.lower() for head in seen)


async def test_body_lines_split_crlf_across_chunks() -> None:
    """Lines end at LF, CR or CRLF, a CRLF cut between two chunks counting once."""
    from openclaw_failover.providers._framing import body_lines

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"data: a\r", b"\ndata: b\r\n\r\n", b"x\ry\nlast"):
            yield part

    assert [line async for line in body_lines(chunks())] == [
        "data: a",
        "data: b",
        "",
        "x",
        "y",
        "last",
    ]


async def _pooled_chunks_of(
    payload: bytes, *, then: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None
) -> tuple[list[object], BaseException | None, float, list[int]]:
    """Send one call through the proxy's client to a server that answers ``payload`` (a
    whole response) and then runs ``then``; twice. Return what the second call's chunks
    were, what they raised, how long reading them took, and the connections accepted."""
    from openclaw_failover._model import Candidate, Provider
    from openclaw_failover._ports import UpstreamCall
    from openclaw_failover.proxy import open_http_client

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(payload)
            await writer.drain()
            if then is not None:
                await then(writer)

    got: list[object] = []
    error: BaseException | None = None
    loop = asyncio.get_running_loop()
    async with raw_server(handler) as (url, accepted), open_http_client() as http:
        provider = Provider("p", "openai-completions", url + "/v1")
        call = UpstreamCall(provider, Candidate("p", "m"), None, {"messages": []}, {})
        transport = OpenAICompatTransport(http)
        for _ in range(2):
            got, error, started = [], None, loop.time()
            async with transport.send(call) as reply:
                try:
                    async for item in reply.chunks():
                        got.append(item)
                except Exception as exc:
                    error = exc
            took = loop.time() - started
    return got, error, took, accepted


SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
HI = b'{"choices":[{"index":0,"delta":{"content":"hi"}}]}'


async def test_pooled_stream_passes_chunks_before_an_error_event_then_fails_at_once() -> None:
    """An ``error`` event after a chunk, in the same read: the chunk is passed on first, then
    the stream fails as UpstreamStreamError without waiting for the rest of the body (the
    upstream left it open), and that connection is not reused."""
    from openclaw_failover._ports import TransportFailure

    error_event = b'{"error":{"message":"overloaded","code":502}}'
    body = sse_chunk(HI) + sse_chunk(error_event)
    payload = SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n" + body

    async def hang(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    got, error, took, accepted = await _pooled_chunks_of(payload, then=hang)
    assert got == [orjson.loads(HI)]
    assert isinstance(error, TransportFailure)
    assert error.kind == "UpstreamStreamError"
    assert "overloaded" in error.detail
    assert took < 0.5
    assert len(accepted) == 2


async def test_pooled_stream_that_ends_without_done_ends_cleanly() -> None:
    """A body framed by content-length that ends without ``[DONE]`` (its last event without
    the blank line) gives every chunk, and the connection is reused."""
    body = b"data: " + HI + b"\n\ndata: " + HI
    payload = SSE_HEAD + b"content-length: %d\r\n\r\n%s" % (len(body), body)
    got, error, _, accepted = await _pooled_chunks_of(payload)
    assert error is None
    assert got == [orjson.loads(HI), orjson.loads(HI)]
    assert len(accepted) == 1


async def test_pooled_stream_cut_mid_body_is_a_transport_failure() -> None:
    """A connection closed in the middle of a chunked body is a TransportFailure after the
    chunks that arrived whole."""
    from openclaw_failover._ports import TransportFailure

    payload = SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n" + sse_chunk(HI) + b"40\r\ndata: {"

    async def cut(writer: asyncio.StreamWriter) -> None:
        writer.close()

    got, error, _, accepted = await _pooled_chunks_of(payload, then=cut)
    assert got == [orjson.loads(HI)]
    assert isinstance(error, TransportFailure)
    assert error.kind in {"RemoteProtocolError", "ReadError"}
    assert len(accepted) == 2


def test_pooled_response_headers_decode_on_first_use_and_agree_with_header() -> None:
    """``header`` reads one header straight from the raw pairs (any case, repeats joined, ""
    when absent) and says what the decoded ``headers`` mapping says."""
    from typing import Any, cast

    from openclaw_failover.providers._http1 import PooledResponse

    raw = [
        (b"Content-Type", b"text/event-stream"),
        (b"X-Ratelimit", b"1"),
        (b"x-ratelimit", b"2"),
        (b"Retry-After", b"7"),
    ]
    response = PooledResponse(200, raw, cast(Any, None))
    assert response.header(b"content-type") == "text/event-stream"
    assert response.header(b"x-ratelimit") == "1, 2"
    assert response.header(b"missing") == ""
    assert response._headers is None  # nothing decoded yet
    assert dict(response.headers) == {
        "content-type": "text/event-stream",
        "x-ratelimit": "1, 2",
        "retry-after": "7",
    }
    for name, value in response.headers.items():
        assert response.header(name.encode()) == value


@pytest.mark.parametrize("bad", ["k\r\nx-injected: 1", "k\nx", "k\x00"])
async def test_pooled_transport_refuses_a_header_that_would_inject_one(bad: str) -> None:
    """A header value holding CR, LF or NUL (httpx lets it through) is refused before
    anything is written, for every adapter that goes through httpx's client on the pool;
    the Anthropic adapter sees it as a TransportFailure naming no key."""
    from openclaw_failover._model import Candidate, Profile, Provider, Secret
    from openclaw_failover._ports import TransportFailure, UpstreamCall
    from openclaw_failover.providers.anthropic import AnthropicTransport

    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(65536))

    async with (
        raw_server(handler) as (url, _),
        PooledClient(PooledHTTP1Transport(), timeout=httpx.Timeout(5.0)) as http,
    ):
        with pytest.raises(httpx.LocalProtocolError, match="line break"):
            await http.post(url, content=b"{}", headers={"x-key": bad})
        provider = Provider("a", "anthropic-messages", url)
        profile = Profile("a:0", "a", Secret(bad), "config")
        body = {"messages": [{"role": "user", "content": "hi"}]}
        call = UpstreamCall(provider, Candidate("a", "m"), profile, body, {})
        with pytest.raises(TransportFailure) as caught:
            async with AnthropicTransport(http).send(call):
                pass
    assert caught.value.kind == "LocalProtocolError"
    assert "k\r" not in caught.value.detail
    assert seen == []
