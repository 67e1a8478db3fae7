"""CR line ends (which the SSE rules allow alone) are acted on with the chunk that carries them,
not held for a LF that may follow; a CRLF split across two chunks is still one line end."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx
import orjson
import pytest

from openclaw_failover._model import Candidate, Provider
from openclaw_failover._ports import UpstreamCall
from openclaw_failover.providers._framing import SseData, body_lines
from openclaw_failover.providers.openai import OpenAICompatTransport
from openclaw_failover.proxy import open_http_client
from tests.test_providers_http1 import raw_server, read_request

#: Every line end the SSE rules allow, CR-only among them, with comments, multi-line events,
#: an ``event`` field and LF-only events (the framer's fast path).
BODY = (
    b"data: a\r\rdata: b\r\n\r\n: note\rdata: c1\rdata: c2\r\r"
    b"data: d\n\nevent: e\r\ndata: e\r\rdata\r\rdata: f\r\n\r\n"
)


def reference_lines(prefix: bytes) -> list[bytes]:
    """The lines a prefix of a body holds whole: a CR is a whole line end at once (the rest
    of its CRLF, if any, adds nothing)."""
    return re.split(rb"\r\n|\r|\n", prefix)[:-1]


def reference_events(prefix: bytes) -> list[bytes]:
    """The data of every event a prefix of a body completes (the WHATWG rules, kept small)."""
    events: list[bytes] = []
    data: list[bytes] = []
    for line in reference_lines(prefix):
        if not line:
            if data:
                events.append(b"\n".join(data))
            data = []
        elif line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(b" ") else value)
        elif line == b"data":
            data.append(b"")
    return events


def splits(body: bytes) -> Iterator[list[bytes]]:
    """``body`` cut in two and in three at every pair of points, and a byte at a time."""
    for i in range(1, len(body)):
        yield [body[:i], body[i:]]
        for j in range(i + 1, len(body), 3):
            yield [body[:i], body[i:j], body[j:]]
    yield [body[k : k + 1] for k in range(len(body))]


def test_reference_reads_the_body_as_intended() -> None:
    """The reference parse of the whole body (a check on the test's own yardstick)."""
    assert reference_events(BODY) == [b"a", b"b", b"c1\nc2", b"d", b"e", b"", b"f"]


def test_cr_only_events_come_out_with_their_chunk() -> None:
    """With CR-only line ends each event comes out of the read that completes it."""
    framer = SseData()
    for n in range(3):
        assert framer.feed(b"data: %d\r\r" % n) == [b"%d" % n]
    assert framer.feed(b"event: x\rdata: a\rdata: b\r\r") == [b"a\nb"]
    assert framer.end() == []


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # The LF opening the second read ends the first's line: no blank line, one event.
        ([b"data: a\r", b"\ndata: b\r\n\r\n"], [[], [b"a\nb"]]),
        # The blank line's CR completes the event at once; its LF, next, is not another.
        ([b"data: a\r\n\r", b"\n", b"data: b\r\n\r\n"], [[b"a"], [], [b"b"]]),
        # An empty read between the CR and its LF changes nothing.
        ([b"data: a\r", b"", b"\n\r", b"\n", b"data: b\r\r"], [[], [], [b"a"], [], [b"b"]]),
        # CR, then CRLF: two line ends, the second split across reads.
        ([b"data: a\r\r", b"\ndata: b\n\n"], [[b"a"], [b"b"]]),
    ],
)
def test_a_crlf_split_across_reads_is_one_line_end(
    chunks: list[bytes], expected: list[list[bytes]]
) -> None:
    """Each read gives exactly the events it completes, no spurious or late one."""
    framer = SseData()
    assert [framer.feed(chunk) for chunk in chunks] == expected
    assert framer.end() == []


def test_every_split_gives_each_event_with_the_read_that_completes_it() -> None:
    """However the body is cut, after each read the events so far are exactly those its
    bytes so far complete, and ``end`` adds none (the body ends with a blank line)."""
    for chunks in splits(BODY):
        framer = SseData()
        got: list[bytes] = []
        seen = b""
        for chunk in chunks:
            got += framer.feed(chunk)
            seen += chunk
            assert got == reference_events(seen), chunks
        assert framer.end() == []


def test_end_gives_an_event_whose_last_line_ended_in_cr_once() -> None:
    """A body that ends after a data line's CR gives that event from ``end``, once."""
    framer = SseData()
    assert framer.feed(b"data: a\r") == []
    assert framer.end() == [b"a"]
    assert framer.end() == []


async def _lines_with_reads(chunks: Sequence[bytes]) -> list[tuple[str, int]]:
    """Each line :func:`body_lines` gives, with how many chunks it had read by then."""
    read = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal read
        for chunk in chunks:
            read += 1
            yield chunk

    return [(line, read) async for line in body_lines(source())]


async def test_body_lines_gives_each_line_with_the_chunk_that_ends_it() -> None:
    """However the body is cut, each line comes out before the next chunk is read (a line
    ending in CR included), and a CRLF split across chunks gives no extra empty line."""
    for chunks in splits(BODY):
        expected: list[tuple[str, int]] = []
        seen = b""
        for n, chunk in enumerate(chunks, 1):
            seen += chunk
            whole = reference_lines(seen)
            expected += [(line.decode(), n) for line in whole[len(expected) :]]
        assert await _lines_with_reads(chunks) == expected, chunks


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
HI = b'{"choices":[{"index":0,"delta":{"content":"hi"}}]}'


@pytest.mark.parametrize("pool", ["httpx", "proxy-pool"])
async def test_a_cr_only_upstream_event_reaches_the_caller_before_the_next(pool: str) -> None:
    """Through the OpenAI adapter over real sockets: an upstream that ends its events with CR
    only, and sends the next one only once the first was read, is not stuck."""
    first_read = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(HEAD + b"data: " + HI + b"\r\r")
        await writer.drain()
        await asyncio.wait_for(first_read.wait(), 10)
        writer.write(b"data: [DONE]\r\r")
        await writer.drain()

    async with raw_server(handler) as (url, _):
        if pool == "proxy-pool":
            http_cm = open_http_client()
        else:
            http_cm = httpx.AsyncClient(timeout=httpx.Timeout(5.0), trust_env=False)
        async with http_cm as http:
            provider = Provider("p", "openai-completions", url + "/v1")
            call = UpstreamCall(provider, Candidate("p", "m"), None, {"messages": []}, {})
            async with OpenAICompatTransport(http).send(call) as reply:
                chunks = reply.chunks().__aiter__()
                first = await asyncio.wait_for(anext(chunks), 5)  # a guard against the hang
                first_read.set()
                rest = [item async for item in chunks]
    assert first == orjson.loads(HI)
    assert rest == []
