"""The pooled HTTP/1.1 client bounds an upstream's response head (and trailers): headers without
end, one header without end, or too many of them fail the attempt as RemoteProtocolError,
naming the bound, and the connection is dropped instead of growing the proxy's memory."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable, Iterator

import httpx
import pytest

from openclaw_failover._exchange import ChatRequest
from openclaw_failover.providers._http1 import PooledHTTP1Transport
from openclaw_failover.providers._http1_conn import (
    MAX_HEAD_BYTES,
    MAX_HEADER_FIELDS,
    Connection,
    Origin,
)
from openclaw_failover.proxy import open_http_client
from openclaw_failover.testing import FakeOpenAIServer
from tests.fixtures.engine import Spec, eventually, make_engine, make_table
from tests.test_providers_http1 import raw_server, read_request

#: What an endless upstream sends at most before giving up on its own (the old client read on
#: until then); a bounded client hangs up long before.
CAP = 4 << 20
STATUS = b"HTTP/1.1 200 OK\r\n"


def small_headers() -> Iterator[bytes]:
    """Short header lines without end, about 4 KiB per write."""
    n = 0
    while True:
        block = b"".join(b"x-h%d: 1\r\n" % (n + i) for i in range(400))
        n += 400
        yield block


def wide_headers() -> Iterator[bytes]:
    """1 KiB header lines without end."""
    n = 0
    while True:
        n += 1
        yield b"x-wide-%d: %s\r\n" % (n, b"v" * 1000)


def one_header_without_end() -> Iterator[bytes]:
    """A single header whose value never ends (httptools holds it whole)."""
    yield b"x-huge: "
    while True:
        yield b"a" * 4096


class Endless:
    """An upstream that answers every request with ``STATUS`` and then ``pieces`` until the
    client hangs up or ``CAP`` bytes went out; it records how each connection ended."""

    def __init__(self, pieces: Callable[[], Iterator[bytes]]) -> None:
        self.pieces = pieces
        self.ended: list[tuple[str, int]] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        sent = 0
        try:
            writer.write(STATUS)
            for piece in self.pieces():
                writer.write(piece)
                sent += len(piece)
                await writer.drain()
                await asyncio.sleep(0)  # let the client read as it goes
                if sent > CAP:
                    self.ended.append(("cap", sent))
                    return
        except ConnectionError:
            self.ended.append(("client hung up", sent))


class Recording(PooledHTTP1Transport):
    """The pool, keeping a weak reference to each connection it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[weakref.ref[Connection]] = []

    async def _connect(
        self, origin: Origin, request: httpx.Request | None, connect_s: float | None
    ) -> Connection:
        conn = await super()._connect(origin, request, connect_s)
        self.made.append(weakref.ref(conn))
        return conn


def _released(pool: Recording) -> bool:
    gc.collect()
    return all(ref() is None for ref in pool.made)


ENDLESS: dict[str, tuple[Callable[[], Iterator[bytes]], str]] = {
    "headers without end": (small_headers, f"more than {MAX_HEADER_FIELDS} header fields"),
    "wide headers without end": (wide_headers, f"more than {MAX_HEAD_BYTES} bytes and still no"),
    "one header without end": (one_header_without_end, f"more than {MAX_HEAD_BYTES} bytes and"),
}


@pytest.mark.parametrize("name", list(ENDLESS))
async def test_a_head_without_end_fails_and_the_connection_is_dropped(name: str) -> None:
    """Past the bound the request fails as RemoteProtocolError naming the bound, the client
    hangs up (the upstream never reaches its cap), and nothing keeps the connection."""
    pieces, found = ENDLESS[name]
    upstream = Endless(pieces)
    pool = Recording()
    async with (
        raw_server(upstream) as (url, accepted),
        httpx.AsyncClient(transport=pool, timeout=httpx.Timeout(5.0)) as http,
    ):
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError) as caught:
                await http.post(url, content=b"{}")
            message = str(caught.value)
            del caught  # its traceback holds the connection
            assert message.startswith(f"upstream response head too large: {found}")
            assert f"expected at most {MAX_HEAD_BYTES} bytes" in message
        await eventually(lambda: len(upstream.ended) == 2)
        await eventually(lambda: _released(pool))
    assert [how for how, _ in upstream.ended] == ["client hung up"] * 2
    assert all(sent < CAP for _, sent in upstream.ended)
    assert len(accepted) == 2  # the failed connection was not pooled
    assert len(pool.made) == 2


class Answer:
    """An upstream that answers every request with ``STATUS + head``; ``finished`` counts the
    connections it saw closed."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.finished = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                self.finished += 1
                return
            writer.write(STATUS + self.head)
            await writer.drain()


async def test_a_head_within_the_bounds_is_read_and_its_connection_reused() -> None:
    """Exactly the most header fields, one header of almost the whole byte budget, and a
    chunked body larger than the budget in tiny chunks: each read whole, on one connection."""
    fields = b"".join(b"x-h%d: 1\r\n" % i for i in range(MAX_HEADER_FIELDS - 1))
    many = fields + b"content-length: 2\r\n\r\n{}"
    wide = b"x-wide: %s\r\ncontent-length: 2\r\n\r\n{}" % (b"v" * (MAX_HEAD_BYTES - 200))
    tiny = b"1\r\nx\r\n" * (MAX_HEAD_BYTES + 10)
    chunked = b"transfer-encoding: chunked\r\n\r\n" + tiny + b"0\r\nx-trailer: 1\r\n\r\n"
    cases = [
        (many, b"{}", MAX_HEADER_FIELDS),
        (wide, b"{}", 2),
        (chunked, b"x" * (MAX_HEAD_BYTES + 10), 1),
    ]
    for head, body, fields_read in cases:
        upstream = Answer(head)
        async with raw_server(upstream) as (url, accepted):
            async with httpx.AsyncClient(transport=PooledHTTP1Transport(), timeout=5.0) as http:
                for _ in range(2):
                    reply = await http.post(url, content=b"{}")
                    assert reply.content == body
                    assert len(reply.headers) == fields_read
            await eventually(lambda: upstream.finished == 1)  # noqa: B023 (awaited here)
        assert len(accepted) == 1


async def test_one_header_field_too_many_is_refused() -> None:
    """One header field past the most allowed fails the request, naming the count."""
    fields = b"".join(b"x-h%d: 1\r\n" % i for i in range(MAX_HEADER_FIELDS))
    upstream = Answer(fields + b"content-length: 2\r\n\r\n{}")
    async with raw_server(upstream) as (url, _):
        async with httpx.AsyncClient(transport=PooledHTTP1Transport(), timeout=5.0) as http:
            with pytest.raises(httpx.RemoteProtocolError, match=f"more than {MAX_HEADER_FIELDS}"):
                await http.post(url, content=b"{}")
        await eventually(lambda: upstream.finished == 1)


TRAILERS: dict[str, tuple[Callable[[], Iterator[bytes]], str]] = {
    "trailers without end": (
        lambda: iter([b"x-t%d: 1\r\n" % n for n in range(MAX_HEADER_FIELDS * 40)]),
        f"more than {MAX_HEADER_FIELDS} header fields",
    ),
    "one trailer without end": (
        lambda: iter([b"x-t: "] + [b"a" * 4096] * (CAP // 4096 + 2)),
        f"more than {MAX_HEAD_BYTES} bytes of trailers",
    ),
}


@pytest.mark.parametrize("name", list(TRAILERS))
async def test_trailers_without_end_fail_the_body(name: str) -> None:
    """Trailers after a chunked body are bounded as the head is: reading the body fails as
    RemoteProtocolError, and the upstream sees the client hang up."""
    trailers, found = TRAILERS[name]

    def pieces() -> Iterator[bytes]:
        yield b"transfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
        yield from trailers()

    upstream = Endless(pieces)
    async with (
        raw_server(upstream) as (url, _),
        httpx.AsyncClient(transport=PooledHTTP1Transport(), timeout=5.0) as http,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match=found):
            await http.post(url, content=b"{}")
        await eventually(lambda: len(upstream.ended) == 1)
    assert upstream.ended[0][0] == "client hung up"


async def test_the_engine_fails_over_from_an_endless_head_and_audits_it(
    fake_openai: FakeOpenAIServer,
) -> None:
    """Through the engine: the endless head is a server_error (RemoteProtocolError, as any
    malformed response; the audit line names the kind, never upstream text), retried once on
    a new connection, then the fallback answers."""
    upstream = Endless(small_headers)
    async with raw_server(upstream) as (url, _), open_http_client() as http:
        specs = [
            Spec("p", "m", keys=("sk-a",), base_url=url + "/v1"),
            Spec("f", "fake-model-2", keys=("sk-f",), base_url=fake_openai.url),
        ]
        rig = make_engine(make_table(specs), client=http)
        request = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]}, stream=True)
        meta, body = await asyncio.wait_for(rig.engine.complete(request), 10)  # a hang guard
        await eventually(lambda: len(upstream.ended) == 2)
    assert meta.model == "fake-model-2"
    assert body["choices"][0]["message"]["content"]
    failed = [a for a in rig.audit.events("attempt") if a.provider == "p"]
    assert [(a.reason, a.failure_kind) for a in failed] == [
        ("server_error", "RemoteProtocolError")
    ] * 2
    assert [a.detail for a in failed] == ["RemoteProtocolError"] * 2
    assert [how for how, _ in upstream.ended] == ["client hung up"] * 2


async def test_the_adapter_reports_the_bound_in_its_transport_failure() -> None:
    """Through an adapter on the proxy's pool: a TransportFailure of kind RemoteProtocolError
    whose detail names the bound."""
    from openclaw_failover._model import Candidate, Provider
    from openclaw_failover._ports import TransportFailure, UpstreamCall
    from openclaw_failover.providers.openai import OpenAICompatTransport

    upstream = Endless(one_header_without_end)
    async with raw_server(upstream) as (url, _), open_http_client() as http:
        provider = Provider("p", "openai-completions", url + "/v1")
        call = UpstreamCall(provider, Candidate("p", "m"), None, {"messages": []}, {})
        with pytest.raises(TransportFailure) as caught:
            async with OpenAICompatTransport(http).send(call):
                pass
        await eventually(lambda: len(upstream.ended) == 1)
    assert caught.value.kind == "RemoteProtocolError"
    assert caught.value.detail.startswith(
        f"upstream response head too large: more than {MAX_HEAD_BYTES} bytes"
    )
    assert upstream.ended[0][0] == "client hung up"
