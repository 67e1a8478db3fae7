"""An OpenAI-compatible event stream read straight off the pooled connection, from an upstream
that writes it one byte per TCP segment and uses every SSE liberty: a byte order mark, CRLF
line ends, comments, ``event``/``id``/``retry`` fields, ``data:`` without its space, an event
over several ``data`` lines or larger than one read, ``[DONE]`` padded, bytes after it."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from openclaw_failover._model import Candidate, Provider
from openclaw_failover._ports import UpstreamCall
from openclaw_failover.providers._http1 import PooledClient, PooledHTTP1Transport
from openclaw_failover.providers.openai import OpenAICompatTransport
from tests.test_providers_http1 import each_request, raw_server

BIG = "x" * 200_000
EVENTS = (
    b"\xef\xbb\xbf"
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}\r\n\r\n'
    b": ping\r\n\r\n"
    b"event: message\r\nid: 7\r\nretry: 1000\r\n"
    b'data:{"choices":[{"index":0,"delta":{"content":"b"}}]}\r\n\r\n'
    b'data: {"choices":[{"index":0,\r\ndata: "delta":{"content":"c"}}]}\r\n\r\n'
    + b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\r\n\r\n'
    % BIG.encode()
    + b"data:  [DONE]  \r\n\r\n"
    b'data: {"choices":[{"index":0,"delta":{"content":"after done"}}]}\r\n\r\n'
)


def _chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


@pytest.mark.parametrize("framing", ["chunked", "until close"])
async def test_every_sse_liberty_one_byte_at_a_time(framing: str) -> None:
    """Each delta arrives, in order, the big one whole; nothing after ``[DONE]``; and with
    a chunked body the connection is reused."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    if framing == "chunked":
        payload = head + b"transfer-encoding: chunked\r\n\r\n" + _chunked(EVENTS)
    else:
        payload = head + b"connection: close\r\n\r\n" + EVENTS

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in each_request(reader):
            small = payload[: payload.index(BIG.encode())]
            for i in range(len(small)):  # one byte per segment up to the big event
                writer.write(small[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0)
            writer.write(payload[len(small) :])
            await writer.drain()
            if framing != "chunked":
                return

    http = PooledClient(PooledHTTP1Transport(), timeout=httpx.Timeout(10.0))
    async with raw_server(handler) as (url, accepted), http:
        provider = Provider("p", "openai-completions", url + "/v1")
        call = UpstreamCall(provider, Candidate("p", "m"), None, {"messages": []}, {})
        transport = OpenAICompatTransport(http)
        for _ in range(2):
            async with transport.send(call) as reply:
                chunks = await asyncio.wait_for(_all(reply), 20)
            contents = [chunk["choices"][0]["delta"]["content"] for chunk in chunks]
            assert contents == ["a", "b", "c", BIG]
    assert len(accepted) == (1 if framing == "chunked" else 2)


async def _all(reply: object) -> list[dict[str, object]]:
    out = []
    async for chunk in reply.chunks():  # type: ignore[attr-defined]
        assert isinstance(chunk, dict), chunk
        out.append(orjson.loads(orjson.dumps(chunk)))
    return out
