"""The pooled HTTP/1.1 transport and upstreams that close idle keep-alive connections: a
pooled connection that dies before any byte of its response is sent once more on a new
connection, never surfaced as a server error (which would cool a healthy key)."""

from __future__ import annotations

import asyncio
import socket
import struct

import httpx
import pytest

from tests.test_providers_http1 import OK, client, raw_server, read_request


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def test_an_upstream_that_closes_after_every_response_never_fails_a_request() -> None:
    """An upstream that answers and closes at once without ``Connection: close`` (its FIN
    races the next request on the pooled connection): every request succeeds."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()

    async with raw_server(handler) as (url, accepted), client() as http:
        replies = [await http.post(url, content=b"{}") for _ in range(6)]
    assert [reply.status_code for reply in replies] == [200] * 6
    assert len(accepted) == 6


@pytest.mark.parametrize("hang_up", ["fin", "rst"])
async def test_a_pooled_connection_closed_before_answering_is_retried_on_a_new_one(
    hang_up: str,
) -> None:
    """The upstream reads the second request on the kept-alive connection and closes it
    without a byte of answer (FIN or RST): the request goes once more, on a new connection,
    and succeeds."""
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first_connection = not seen
        while True:
            try:
                _, body = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            seen.append(body)
            if first_connection and len(seen) == 2:
                if hang_up == "rst":
                    _reset(writer)
                return
            writer.write(OK)
            await writer.drain()

    async with raw_server(handler) as (url, accepted), client() as http:
        first = await http.post(url, content=b"1")
        second = await http.post(url, content=b"2")
    assert (first.status_code, second.status_code) == (200, 200)
    assert seen == [b"1", b"2", b"2"]
    assert len(accepted) == 2


async def test_a_pooled_connection_whose_answer_began_is_not_retried() -> None:
    """A response that began (its status line came) and was then cut is the upstream's
    answer: RemoteProtocolError, with no second try."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        await writer.drain()

    async with raw_server(handler) as (url, accepted), client() as http:
        await http.post(url, content=b"{}")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(url, content=b"{}")
    assert len(accepted) == 1


async def test_the_new_connection_is_tried_once_only() -> None:
    """When the new connection hangs up without answering too, that failure is raised: one
    extra try, not a loop."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if len(accepted) == 1:
            writer.write(OK)
            await read_request(reader)

    async with raw_server(handler) as (url, accepted), client() as http:
        await http.post(url, content=b"{}")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(url, content=b"{}")
    assert len(accepted) == 2


async def test_a_new_connection_closed_before_answering_is_not_retried() -> None:
    """On a connection opened for this request, a hang-up without an answer is the
    upstream's failure: raised at once, one connection."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with raw_server(handler) as (url, accepted), client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(url, content=b"{}")
    assert len(accepted) == 1


async def test_a_silent_pooled_connection_is_not_retried() -> None:
    """A read timeout on a pooled connection is a silent upstream, not a stale connection:
    ReadTimeout, with no second try."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await read_request(reader)
        await asyncio.sleep(1)

    async with raw_server(handler) as (url, accepted), client() as http:
        await http.post(url, content=b"{}")
        with pytest.raises(httpx.ReadTimeout):
            await http.post(url, content=b"{}", timeout=httpx.Timeout(5.0, read=0.1))
    assert len(accepted) == 1


async def test_the_openai_transport_over_the_proxys_client_sees_no_failure() -> None:
    """Through the proxy's own client (requests written straight on the pool), an upstream
    that closes each connection after answering gives every call its answer."""
    from openclaw_failover._model import Candidate, Provider
    from openclaw_failover._ports import UpstreamCall
    from openclaw_failover.providers._http1 import PooledClient, PooledHTTP1Transport
    from openclaw_failover.providers.openai import OpenAICompatTransport

    completion = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}'
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer % (len(completion), completion))
        await writer.drain()

    http = PooledClient(PooledHTTP1Transport(), timeout=httpx.Timeout(5.0))
    async with raw_server(handler) as (url, accepted), http:
        provider = Provider("p", "openai-completions", url + "/v1")
        call = UpstreamCall(provider, Candidate("p", "m"), None, {"messages": []}, {})
        transport = OpenAICompatTransport(http)
        for _ in range(4):
            async with transport.send(call) as reply:
                chunks = [chunk async for chunk in reply.chunks()]
            assert chunks[0]["choices"][0]["delta"]["content"] == "hi"
    assert len(accepted) == 4
