"""The pooled HTTP/1.1 transport's response framing against upstreams that bend HTTP/1.1:
interim 1xx responses, bodies without length, trailers, and bytes after a whole response
(which must neither fail that response nor reach the next request on the connection)."""

from __future__ import annotations

import asyncio

import pytest

from openclaw_failover.providers._http1 import PooledHTTP1Transport, PooledResponse
from tests.test_providers_http1 import OK, client, each_request, raw_server, read_request

HEAD = b"HTTP/1.1 200 OK\r\n"
#: (the answer to each request, what the client reads, whether the connection is reused)
FRAMINGS = {
    "100 continue first": (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, b"{}", True),
    "103 early hints first": (b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK, b"{}", True),
    "204 without length": (b"HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n", b"", True),
    "304 without length": (b"HTTP/1.1 304 Not Modified\r\n\r\n", b"", True),
    "chunk extensions and trailers": (
        HEAD + b"transfer-encoding: chunked\r\n\r\n2;ext=1\r\n{}\r\n0\r\nx-trailer: 1\r\n\r\n",
        b"{}",
        True,
    ),
    "a CRLF after the body": (OK + b"\r\n", b"{}", True),
    "connection: close": (HEAD + b"connection: close\r\ncontent-length: 2\r\n\r\n{}", b"{}", False),
    "HTTP/1.0 with a length": (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"{}", False),
    "a second response after the body": (OK + HEAD + b"content-length: 1\r\n\r\nX", b"{}", False),
    "a body longer than its length": (HEAD + b"content-length: 2\r\n\r\n{}garbage", b"{}", False),
}


@pytest.mark.parametrize("name", list(FRAMINGS))
async def test_each_framing_reads_its_own_body_and_reuses_only_a_clean_connection(
    name: str,
) -> None:
    """Each answer's body is exactly its own, with no error; the connection is kept only
    when the exchange left it clean (bytes after a whole response, a second response or a
    longer body, are dropped with the connection, not passed on or raised)."""
    answer, body, reused = FRAMINGS[name]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in each_request(reader):
            writer.write(answer)
            await writer.drain()

    async with raw_server(handler) as (url, accepted), client() as http:
        for _ in range(3):
            reply = await http.post(url, content=b"{}")
            assert reply.content == body
    assert len(accepted) == (1 if reused else 3)


async def test_http_1_0_body_until_close() -> None:
    """An HTTP/1.0 answer with neither length nor chunking is read to the close."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the close")

    async with raw_server(handler) as (url, accepted), client() as http:
        for _ in range(2):
            assert (await http.post(url, content=b"{}")).content == b"until the close"
    assert len(accepted) == 2


async def _body(response: PooledResponse) -> bytes:
    parts = []
    while (data := response.take()) is not None:
        parts.append(data)
        if not data:
            await response.wait()
    return b"".join(parts)


async def test_a_late_half_response_never_reaches_the_next_request() -> None:
    """Bytes of a further response that arrive after a whole response, while it is still
    open: the connection is not pooled, so the next request reads its own answer instead of
    the parser's leftovers."""
    served = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in each_request(reader):
            writer.write(OK)
            await writer.drain()
            if not served.is_set():
                await asyncio.sleep(0.05)
                writer.write(HEAD + b"content-length: 50\r\n\r\nstale")
                await writer.drain()
                served.set()

    pool = PooledHTTP1Transport()
    async with raw_server(handler) as (url, accepted):
        port = int(url.rsplit(":", 1)[1])
        origin = (b"http", b"127.0.0.1", port)
        request = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"
        timeouts = {"connect": 5.0, "read": 5.0, "write": 5.0}
        first = await pool.open(origin, request, timeouts)
        assert await _body(first) == b"{}"
        await served.wait()
        await asyncio.sleep(0.05)  # the late bytes arrive while the response is still open
        await first.aclose()
        second = await pool.open(origin, request, timeouts)
        assert (second.status_code, await _body(second)) == (200, b"{}")
        await second.aclose()
        await pool.aclose()
    assert len(accepted) == 2
