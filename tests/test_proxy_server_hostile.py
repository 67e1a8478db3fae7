"""The proxy's HTTP/1.1 server against hostile clients: framing, smuggling, bounds, half-close."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from openclaw_failover.proxy._server_conn import MAX_PIPELINED
from openclaw_failover.proxy._throttle import Throttle
from tests.test_proxy_server import GET, Raw, echo, http_only, read_body, reply, running

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nhost: t\r\n\r\n"


def recording() -> tuple[list[str], Any]:
    """An echo app that records each path it is run on."""
    paths: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            paths.append(scope["path"])
        await echo(scope, receive, send)

    return paths, app


async def refused(server: Any, request: bytes) -> int:
    """Send ``request`` and the smuggled GET behind it; the status, once the server closed."""
    conn = await Raw.open(server)
    await conn.send(request + SMUGGLED)
    answer = await conn.response()
    assert await conn.eof()
    await conn.close()
    assert answer.headers["connection"] == "close"
    return answer.status


AMBIGUOUS = {
    "length and chunked": b"content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked and length": b"transfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n",
    "two equal lengths": b"content-length: 3\r\ncontent-length: 3\r\n\r\nabc",
    "two lengths": b"content-length: 3\r\ncontent-length: 40\r\n\r\nabc",
    "a length list": b"content-length: 3, 3\r\n\r\nabc",
    "a signed length": b"content-length: +3\r\n\r\nabc",
    "a length with a space": b"content-length: 1 3\r\n\r\nabc",
    "an overflowing length": b"content-length: 184467440737095516160\r\n\r\nabc",
    "obs-fold": b"x-a: 1\r\n transfer-encoding: chunked\r\ncontent-length: 3\r\n\r\nabc",
    "bare LF": b"content-length: 3\nx-a: 1\r\n\r\nabc",
    "NUL in a value": b"x-a: a\x00b\r\ncontent-length: 3\r\n\r\nabc",
    "CR in a value": b"x-a: a\rb\r\ncontent-length: 3\r\n\r\nabc",
    "space before the colon": b"transfer-encoding : chunked\r\n\r\n0\r\n\r\n",
    "chunked, identity": b"transfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "gzip, chunked": b"transfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "gzip then chunked": b"transfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked twice": b"transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    "xchunked": b"transfer-encoding: xchunked\r\n\r\n0\r\n\r\n",
    "identity": b"transfer-encoding: identity\r\n\r\n0\r\n\r\n",
    "an overflowing chunk size": b"transfer-encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n",
    "a chunk extension ending in LF": b"transfer-encoding: chunked\r\n\r\n3;a=b\nabc\r\n0\r\n\r\n",
    "a chunk without its CRLF": b"transfer-encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("headers", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
async def test_ambiguous_framing_gets_400_and_nothing_is_smuggled(headers: bytes) -> None:
    """Ambiguous or unsupported framing gets a 400 and a close; no request hides behind it."""
    paths, app = recording()
    async with running(app) as server:
        status = await refused(server, b"POST / HTTP/1.1\r\nhost: t\r\n" + headers)
    assert status == 400
    assert "/smuggled" not in paths


async def test_chunked_on_http_10_is_refused() -> None:
    """HTTP/1.0 with Transfer-Encoding (faulty framing, RFC 9112 6.1) gets 400, not a body."""
    paths, app = recording()
    async with running(app) as server:
        status = await refused(
            server,
            b"POST / HTTP/1.0\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
        )
    assert (status, paths) == (400, [])


async def test_valid_framing_is_still_accepted() -> None:
    """Leading zeros in Content-Length, CHUNKED in capitals and chunk extensions are valid."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 003 \r\n\r\nabc")
        padded = await conn.response()
        await conn.send(
            b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: CHUNKED\r\n\r\n"
            b"3;name=value\r\nabc\r\n0\r\n\r\n"
        )
        chunked = await conn.response()
        await conn.close()
    assert json.loads(padded.body)["body"] == json.loads(chunked.body)["body"] == "abc"


async def test_a_broken_chunked_body_ends_the_request() -> None:
    """A chunked body that breaks off with bad framing gets 400; the app sees a disconnect."""
    seen: list[dict[str, Any]] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(await receive())
        seen.append(await receive())
        await reply(send, b"too late")

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(
            b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"
        )
        await asyncio.sleep(0.05)
        await conn.send(b"zz\r\n")
        answer = await conn.response()
        assert await conn.eof()
        await conn.close()
    assert answer.status == 400
    assert seen == [
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.disconnect"},
    ]


async def test_a_body_broken_after_the_response_began_cuts_the_response() -> None:
    """Bad framing after the response began closes the connection without a 400 inside it."""
    gone = asyncio.Event()

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n")
        head = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 2)
        await conn.send(b"zz\r\n")
        rest = await asyncio.wait_for(conn.reader.read(), 2)
        await asyncio.wait_for(gone.wait(), 1)
        await conn.close()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest == b"7\r\npartial\r\n"


async def test_an_endless_trailer_is_refused_without_buffering_it() -> None:
    """A trailer growing past max_head_bytes gets 431 (httptools would buffer it all)."""
    seen: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (message := await receive()).get("more_body"):
            pass
        seen.append(message["type"])

    async with running(app, max_head_bytes=16384) as server:
        conn = await Raw.open(server)
        await conn.send(
            b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\nx-t: "
        )
        for _ in range(16):
            await conn.send(b"a" * 4096)
            await asyncio.sleep(0.002)
        answer = await conn.response()
        await conn.close()
    assert answer.status == 431
    assert seen == ["http.disconnect"]


async def test_an_endless_chunk_extension_is_refused() -> None:
    """A chunk-size line that never ends (extensions llhttp skips) is bounded like a head."""
    async with running(echo, max_head_bytes=16384) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n1;x=")
        for _ in range(16):
            await conn.send(b"a" * 4096)
            await asyncio.sleep(0.002)
        answer = await conn.response()
        await conn.close()
    assert answer.status == 431


async def test_a_head_split_over_reads_behind_a_large_body_is_not_431() -> None:
    """The head-size bound counts one head's bytes, not a large body read along with it."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST /one HTTP/1.1\r\nhost: t\r\n")
        await asyncio.sleep(0.05)
        await conn.send(b"content-length: 100000\r\n\r\n" + b"x" * 100000 + b"GET /two HTT")
        await asyncio.sleep(0.05)
        await conn.send(b"P/1.1\r\nhost: t\r\n\r\n")
        first, second = await conn.response(), await conn.response()
        await conn.close()
    assert (first.status, second.status) == (200, 200)
    assert json.loads(second.body)["path"] == "/two"


async def test_a_half_closed_client_still_gets_its_response() -> None:
    """A FIN right after the request (shutdown(SHUT_WR)) still gets the response, then a close:
    an app that does not listen for the client leaving (a health check) answers as before."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await asyncio.sleep(0.05)
        await reply(send, b"answered")

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(GET + b"POST /two HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\nok")
        conn.writer.write_eof()
        first, second = await conn.response(), await conn.response()
        assert await conn.eof()
        await conn.close()
    assert (first.body, second.body) == (b"answered", b"answered")


async def test_a_client_that_closes_while_its_answer_is_held_is_gone() -> None:
    """A FIN while the app holds the response (a client that timed out and closed its socket,
    as HTTP clients do) reaches an app listening for it as ``http.disconnect`` at once, so
    the proxy stops the request instead of working on, and failing over, for nobody; an app
    that then returns without a response gets the connection closed, not a 500."""
    seen: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        seen.append((await receive())["type"])  # blocks until the client is gone

    async with running(app, sweep_interval_s=0.02) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST /two HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\nok")
        await asyncio.sleep(0.05)
        conn.writer.write_eof()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen == ["http.disconnect"]
        assert await conn.eof()
        rest = await conn.reader.read()
        await conn.close()
    assert rest == b""


async def test_a_half_close_mid_body_disconnects_the_app_and_closes() -> None:
    """A FIN before the declared body is whole gives the app http.disconnect and closes."""
    seen: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (message := await receive()).get("more_body"):
            pass
        seen.append(message["type"])

    async with running(app, sweep_interval_s=0.02) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\nabc")
        conn.writer.write_eof()
        assert await conn.eof()
        for _ in range(50):
            if not server.connections and seen:
                break
            await asyncio.sleep(0.01)
        await conn.close()
        assert not server.connections
    assert seen == ["http.disconnect"]


async def test_a_response_before_the_body_closes_instead_of_draining() -> None:
    """A response sent while the body still arrives says close: the rest is not read for reuse."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await reply(send, b"no", status=401)

    async with running(app, linger_s=0.1, sweep_interval_s=0.02) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000\r\n\r\nabc")
        answer = await conn.response()
        assert await conn.eof(timeout=1.0)
        await conn.close()
    assert (answer.status, answer.headers["connection"]) == (401, "close")


async def test_a_pipelined_flood_is_bounded() -> None:
    """Thousands of tiny requests in one write: at most MAX_PIPELINED + 1 answered, then close."""
    paths, app = recording()
    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(GET * 3000)
        answered = 0
        while not conn.reader.at_eof():
            try:
                await conn.response()
            except asyncio.IncompleteReadError:
                break
            answered += 1
        await conn.close()
    assert answered == len(paths) == MAX_PIPELINED + 1


async def test_an_unread_chunked_body_pauses_reading() -> None:
    """A chunked body the app does not read is held to about the high-water mark, not buffered."""
    release = asyncio.Event()
    sizes: list[int] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await release.wait()
        while True:
            message = await receive()
            sizes.append(len(message["body"]))
            if not message["more_body"]:
                break
        await reply(send, str(sum(sizes)).encode())

    chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
    async with running(app) as server:
        conn = await Raw.open(server)
        conn.writer.write(b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n")
        sender = asyncio.ensure_future(conn.send(chunk * 64 + b"0\r\n\r\n"))
        await asyncio.sleep(0.2)
        release.set()
        answer = await conn.response()
        await sender
        await conn.close()
    assert answer.body == str(64 * 65536).encode()
    assert sizes[0] <= 64 * 1024 + 256 * 1024


async def test_logs_hold_no_header_value_and_no_forged_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused head logs no header value; an app error logs the path percent-encoded."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise ValueError("boom")

    caplog.set_level(logging.DEBUG, logger="openclaw_failover.proxy")
    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(b"GET / HTTP/1.1\r\nauthorization: Bearer sekrit\x01\r\n\r\n")
        bad = await conn.response()
        await conn.close()
        conn = await Raw.open(server)
        await conn.send(b"GET /a%0d%0aFORGED HTTP/1.1\r\nauthorization: Bearer sekrit\r\n\r\n")
        failed = await conn.response()
        await conn.close()
    lines = [record.getMessage() for record in caplog.records]
    assert (bad.status, failed.status) == (400, 500)
    assert b"sekrit" not in bad.body + failed.body
    assert not any("sekrit" in line for line in lines)
    assert any("/a%0d%0aFORGED" in line for line in lines)
    assert not any("\n" in line for line in lines)


async def test_past_max_connections_the_longest_idle_one_makes_room() -> None:
    """A connection past max_connections takes the place of the one idle the longest: that
    one is closed, the newer idle one and the newcomer both serve."""
    _, app = recording()
    async with running(app, max_connections=2) as server:
        oldest, newer = await Raw.open(server), await Raw.open(server)
        for conn in (oldest, newer):
            await conn.send(GET)
            assert (await conn.response()).status == 200
        newcomer = await Raw.open(server)
        assert await oldest.eof()
        for conn in (newer, newcomer):
            await conn.send(GET)
            assert (await conn.response()).status == 200
            await conn.close()
        await oldest.close()


async def test_past_max_connections_with_every_one_busy_the_newcomer_is_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With every connection in a request, one more is closed at once (logged once), and the
    requests in flight still get their answers."""
    release = asyncio.Event()
    entered: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        await release.wait()
        await reply(send, b"done")

    caplog.set_level(logging.WARNING, logger="openclaw_failover.proxy")
    async with running(app, max_connections=2) as server:
        busy = [await Raw.open(server), await Raw.open(server)]
        for conn in busy:
            await conn.send(GET)
        for _ in range(200):  # both requests are in the app (bounded wait)
            if len(entered) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(entered) == 2
        for _ in range(2):
            late = await Raw.open(server)
            assert await late.eof()
            await late.close()
        release.set()
        for conn in busy:
            assert (await conn.response()).body == b"done"
            await conn.close()
    refusals = [r for r in caplog.records if "refusing connections" in r.getMessage()]
    assert len(refusals) == 1


async def test_a_flood_of_invalid_requests_logs_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each invalid request gets its 400, but only the first logs (one line per 10 s), so a
    scanner cannot flood the operator's log."""
    caplog.set_level(logging.WARNING, logger="openclaw_failover.proxy")
    async with running(echo) as server:
        statuses = []
        for _ in range(5):
            conn = await Raw.open(server)
            await conn.send(b"GET / HTTP/1.1\r\nx-a: a\x01b\r\n\r\n")
            statuses.append((await conn.response()).status)
            await conn.close()
    invalid = [r for r in caplog.records if "invalid HTTP request" in r.getMessage()]
    assert statuses == [400] * 5
    assert len(invalid) == 1


def test_a_throttled_warning_counts_what_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    """Within the interval warnings are held back; the next one after it says how many."""
    caplog.set_level(logging.WARNING, logger="openclaw_failover.proxy")
    throttle = Throttle(every_s=10.0)
    for now in (100.0, 101.0, 105.0, 109.9, 110.0, 125.0):
        throttle.warn(now, "refusing %s", "x")
    assert [r.getMessage() for r in caplog.records] == [
        "refusing x",
        "refusing x (and 3 more like it in the last 10 s)",
        "refusing x",
    ]
