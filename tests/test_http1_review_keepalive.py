"""The pooled HTTP/1.1 transport and upstreams that close keep-alive connections: a pooled
connection whose FIN arrived is never picked again, and a request is never sent twice (a hang-up
without an answer may come after the upstream read it: a second call would be one the audit
never sees, and may bill twice)."""

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


@pytest.mark.parametrize("hang_up", ["fin", "rst"])
async def test_a_pooled_connection_that_read_the_request_and_hung_up_is_not_resent(
    hang_up: str,
) -> None:
    """The upstream reads the second request on the kept-alive connection and closes it
    without a byte of answer (FIN or RST): that is its failure, raised once. The request is
    not sent again on a new connection: the upstream saw it, and a resend would be a second
    call no audit line records."""
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
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await http.post(url, content=b"2")
    assert first.status_code == 200
    assert seen == [b"1", b"2"]
    assert len(accepted) == 1


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
