"""The proxy's own HTTP/1.1 server over real loopback sockets, with small stub ASGI apps."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from openclaw_failover.proxy._server import HttpServer, ServerOptions, StartupFailed, serve

Handler = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def http_only(handler: Handler) -> Handler:
    """An app without lifespan support (it raises before its first ``receive``)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("http only")
        await handler(scope, receive, send)

    return app


async def read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def reply(send: Any, body: bytes, *, status: int = 200, headers: tuple = ()) -> None:
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [length, *headers]})
    await send({"type": "http.response.body", "body": body})


async def stream(send: Any, parts: list[bytes]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for i, part in enumerate(parts):
        await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})


@http_only
async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = await read_body(receive)
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "version": scope["http_version"],
        "client_port": scope["client"][1],
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": body.decode(),
    }
    await reply(send, json.dumps(seen).encode())


@asynccontextmanager
async def running(app: Any, **options: Any) -> AsyncIterator[HttpServer]:
    server = HttpServer(app, options=ServerOptions(**options))
    await server.start(host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        await server.shutdown()


def port_of(server: HttpServer) -> int:
    assert server.address is not None
    return server.address[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Raw:
    """A raw client connection: send bytes, read whole responses, watch for EOF."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, server: HttpServer, *, rcvbuf: int | None = None) -> Raw:
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port_of(server)))
        return cls(*await asyncio.open_connection(sock=sock))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, *, head_only: bool = False) -> Reply:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 2)
        lines = head.decode("latin-1").split("\r\n")
        fields = (line.split(":", 1) for line in lines[1:] if line)
        headers = {name.lower(): value.strip() for name, value in fields}
        if head_only:
            body = b""
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = await self._chunks()
        else:
            body = await asyncio.wait_for(self.reader.read(), 2)
        return Reply(int(lines[0].split()[1]), headers, body)

    async def _chunks(self) -> bytes:
        body = b""
        while size := int(await self.reader.readuntil(b"\r\n"), 16):
            body += (await self.reader.readexactly(size + 2))[:-2]
        assert await self.reader.readexactly(2) == b"\r\n"
        return body

    async def eof(self, timeout: float = 2.0) -> bool:
        """True when the server closed the connection (after any bytes still unread)."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout):
                pass
        except ConnectionResetError:
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionResetError):
            await self.writer.wait_closed()


GET = b"GET /x HTTP/1.1\r\nhost: t\r\n\r\n"


async def test_get_and_post_with_content_length() -> None:
    """A GET and a POST with a Content-Length body reach the app with a full, decoded scope."""
    async with running(echo) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{port_of(server)}"
        got = (await client.get(f"{url}/a%20b/c?q=1&r=%20", headers={"X-Thing": "V"})).json()
        posted = await client.post(f"{url}/p", content=b"hello")
    assert (got["method"], got["path"], got["raw_path"]) == ("GET", "/a b/c", "/a%20b/c")
    assert (got["query"], got["version"], got["body"]) == ("q=1&r=%20", "1.1", "")
    assert ["x-thing", "V"] in got["headers"]
    assert (posted.status_code, posted.json()["body"]) == (200, "hello")
    assert "server" not in posted.headers
    assert "date" not in posted.headers


async def test_chunked_request_body_arrives_in_messages() -> None:
    """A chunked body arrives as http.request messages; its trailer stays out of the scope."""
    messages: list[dict[str, Any]] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while not messages or messages[-1]["more_body"]:
            messages.append(await receive())
        names = b",".join(name for name, _ in scope["headers"])
        await reply(send, b"".join(m["body"] for m in messages) + b" " + names)

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(
            b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"
        )
        await asyncio.sleep(0.02)
        await conn.send(b"2\r\nde\r\n0\r\nx-trailer: 1\r\n\r\n")
        answer = await conn.response()
        await conn.close()
    assert answer.body == b"abcde host,transfer-encoding"
    assert messages[0] == {"type": "http.request", "body": b"abc", "more_body": True}
    assert messages[-1]["more_body"] is False


async def test_two_requests_on_one_keep_alive_connection() -> None:
    """HTTP/1.1 keeps the connection open: a second request on it is answered too."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(GET)
        first = await conn.response()
        await conn.send(b"POST /y HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\nok")
        second = await conn.response()
        await conn.close()
    assert "connection" not in first.headers
    assert json.loads(second.body)["body"] == "ok"
    assert json.loads(first.body)["client_port"] == json.loads(second.body)["client_port"]


async def test_pipelined_requests_are_answered_in_order() -> None:
    """Two requests sent at once are run and answered strictly one after the other."""
    events: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        events.append(f"start {scope['path']}")
        if scope["path"] == "/slow":
            await asyncio.sleep(0.1)
        await reply(send, scope["path"].encode())
        events.append(f"end {scope['path']}")

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(
            b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\nGET /fast HTTP/1.1\r\nhost: t\r\n\r\n"
        )
        bodies = [(await conn.response()).body, (await conn.response()).body]
        await conn.close()
    assert bodies == [b"/slow", b"/fast"]
    assert events == ["start /slow", "end /slow", "start /fast", "end /fast"]


async def test_connection_close_closes_after_the_response() -> None:
    """A request with Connection: close is answered with it, and the connection is closed."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n" + GET)
        answer = await conn.response()
        assert await conn.eof()
        await conn.close()
    assert (answer.status, answer.headers["connection"]) == (200, "close")


async def test_an_apps_own_connection_header_goes_out_once() -> None:
    """An app that says ``connection: close`` (a 413 does) gets one such header, not the
    app's and the server's both; its ``keep-alive`` on HTTP/1.0 is not doubled either."""
    heads: list[bytes] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        value = b"close" if scope["path"] == "/close" else b"keep-alive"
        await reply(send, b"x", headers=((b"Connection", value),))

    async with running(app) as server:
        for request in (
            b"GET /close HTTP/1.1\r\nhost: t\r\n\r\n",
            b"GET /kept HTTP/1.0\r\nconnection: keep-alive\r\n\r\n",
        ):
            conn = await Raw.open(server)
            await conn.send(request)
            heads.append(await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 2))
            await conn.close()
    assert [head.lower().count(b"connection:") for head in heads] == [1, 1]
    assert b"connection: close" in heads[0].lower()
    assert b"connection: keep-alive" in heads[1].lower()


async def test_http_10_closes_unless_keep_alive() -> None:
    """HTTP/1.0 closes after the response; with Connection: keep-alive it stays open."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(b"GET / HTTP/1.0\r\n\r\n")
        plain = await conn.response()
        assert await conn.eof()
        await conn.close()
        conn = await Raw.open(server)
        await conn.send(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        kept = await conn.response()
        await conn.send(b"GET /again HTTP/1.0\r\n\r\n")
        again = await conn.response()
        await conn.close()
    assert json.loads(plain.body)["version"] == "1.0"
    assert (plain.headers["connection"], kept.headers["connection"]) == ("close", "keep-alive")
    assert json.loads(again.body)["path"] == "/again"


async def test_streamed_response_is_chunked_and_httpx_reads_it() -> None:
    """A response with more_body and no content-length goes out chunked; httpx reads it whole."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await stream(send, [b"one,", b"", b"two,", b"three"])

    async with running(app) as server, httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port_of(server)}/")
        conn = await Raw.open(server)
        await conn.send(GET)
        raw = await conn.response()
        await conn.close()
    assert answer.text == "one,two,three"
    assert (raw.headers["transfer-encoding"], raw.body) == ("chunked", b"one,two,three")


async def test_head_response_has_no_body() -> None:
    """HEAD gets the head (content-length kept) and no body: the next response parses clean."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/stream":
            await stream(send, [b"a", b"b"])
        else:
            await reply(send, b"twelve bytes")

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(b"HEAD / HTTP/1.1\r\nhost: t\r\n\r\n")
        fixed = await conn.response(head_only=True)
        await conn.send(b"HEAD /stream HTTP/1.1\r\nhost: t\r\n\r\n")
        streamed = await conn.response(head_only=True)
        await conn.send(GET)
        after = await conn.response()
        await conn.close()
    assert fixed.headers["content-length"] == "12"
    assert "transfer-encoding" not in streamed.headers
    assert (after.status, after.body) == (200, b"twelve bytes")


async def test_expect_100_continue_is_answered_when_the_app_reads() -> None:
    """Expect: 100-continue gets "100 Continue" once the app asks for the body."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(
            b"POST / HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n"
        )
        interim = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 2)
        await conn.send(b"body")
        answer = await conn.response()
        await conn.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert json.loads(answer.body)["body"] == "body"


async def test_oversized_head_gets_431_and_close() -> None:
    """A request head over 64 KiB is answered 431 and the connection closed."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(b"GET / HTTP/1.1\r\nhost: t\r\nx-big: " + b"a" * 70 * 1024 + b"\r\n\r\n")
        answer = await conn.response()
        assert await conn.eof()
        await conn.close()
    assert answer.status == 431
    assert answer.headers["connection"] == "close"


async def test_slowly_growing_head_gets_431_before_it_ends() -> None:
    """A head growing past 64 KiB over several reads is refused before it completes."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(b"GET / HTTP/1.1\r\nhost: t\r\nx-big: ")
        for _ in range(20):
            await conn.send(b"a" * 8192)
            await asyncio.sleep(0.005)
        answer = await conn.response()
        await conn.close()
    assert answer.status == 431


async def test_garbage_gets_400_json_and_close() -> None:
    """Non-HTTP bytes get a short JSON 400 and a close (complete after linger_s at the latest)."""
    async with running(echo, linger_s=0.1, sweep_interval_s=0.02) as server:
        conn = await Raw.open(server)
        await conn.send(b"\x16\x03\x01 this is not http\r\n\r\n")
        answer = await conn.response()
        assert await conn.eof()
        for _ in range(100):
            if not server.connections:
                break
            await asyncio.sleep(0.01)
        assert not server.connections
        await conn.close()
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["type"] == "invalid_request_error"


async def test_content_length_with_chunked_is_refused() -> None:
    """A request with both Content-Length and chunked Transfer-Encoding (smuggling) gets 400."""
    async with running(echo) as server:
        conn = await Raw.open(server)
        await conn.send(
            b"POST / HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n"
            b"\r\n0\r\n\r\n"
        )
        answer = await conn.response()
        await conn.close()
    assert answer.status == 400


async def test_app_error_before_start_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    """An exception before the response started gives a JSON 500 and a logged traceback."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise ValueError("secret detail")

    caplog.set_level(logging.ERROR, logger="openclaw_failover.proxy")
    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(GET)
        answer = await conn.response()
        assert await conn.eof()
        await conn.close()
    assert answer.status == 500
    assert json.loads(answer.body) == {
        "error": {"message": "internal error", "type": "server_error"}
    }
    assert any(r.exc_info and r.name == "openclaw_failover.proxy" for r in caplog.records)


async def test_app_returning_without_a_response_is_a_500() -> None:
    """An app that returns without sending anything gets the client a 500."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        return

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(GET)
        answer = await conn.response()
        await conn.close()
    assert answer.status == 500


async def test_app_error_after_start_closes_the_connection() -> None:
    """An exception after the response started closes the connection mid-body (no 500)."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ValueError("boom")

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(GET)
        head = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), 2)
        rest = await asyncio.wait_for(conn.reader.read(), 2)  # to EOF
        await conn.close()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest == b"7\r\npartial\r\n"  # no terminating chunk: the client sees a cut body


async def test_bad_response_header_is_a_500() -> None:
    """A response header value with CR/LF (header injection) is refused with a 500."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await reply(send, b"x", headers=((b"x-bad", b"a\r\nset-cookie: evil"),))

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(GET)
        answer = await conn.response()
        await conn.close()
    assert answer.status == 500
    assert "set-cookie" not in answer.headers


async def test_client_disconnect_mid_body_reaches_receive() -> None:
    """A client gone mid-body makes receive() return http.disconnect; later sends are no-ops."""
    first_part = asyncio.Event()
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(await receive())
        first_part.set()
        seen.append(await receive())
        seen.append(await receive())
        await reply(send, b"nobody listens")
        done.set()

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\nabc")
        await asyncio.wait_for(first_part.wait(), 2)
        await conn.close()
        await asyncio.wait_for(done.wait(), 2)
    assert seen[0] == {"type": "http.request", "body": b"abc", "more_body": True}
    assert seen[1:] == [{"type": "http.disconnect"}, {"type": "http.disconnect"}]


async def test_receive_after_the_body_waits_for_the_response() -> None:
    """After the body, receive() waits for the response to complete, then says disconnect."""
    results: list[str] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        watch = asyncio.ensure_future(receive())
        await asyncio.sleep(0.05)
        results.append("pending" if not watch.done() else "done early")
        await reply(send, b"ok")
        results.append((await asyncio.wait_for(watch, 1))["type"])

    async with running(app) as server, httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port_of(server)}/")
        await asyncio.sleep(0.01)
    assert answer.text == "ok"
    assert results == ["pending", "http.disconnect"]


async def test_request_body_flow_control_pauses_reading() -> None:
    """Unread request body stops being read past ~64 KiB; the app still gets all of it."""
    total = 8 * 1024 * 1024
    release = asyncio.Event()
    sizes: list[int] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await release.wait()
        more = True
        while more:
            message = await receive()
            sizes.append(len(message["body"]))
            more = message["more_body"]
        await reply(send, str(sum(sizes)).encode())

    async with running(app) as server:
        conn = await Raw.open(server)
        conn.writer.write(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: %d\r\n\r\n" % total)
        sender = asyncio.ensure_future(conn.send(b"x" * total))
        await asyncio.sleep(0.2)
        release.set()
        answer = await conn.response()
        await sender
        await conn.close()
    assert answer.body == str(total).encode()
    assert sizes[0] <= 64 * 1024 + 256 * 1024  # the high-water mark plus one read


async def test_send_waits_for_a_slow_reader() -> None:
    """send() honours write back-pressure: a client that does not read holds the app back."""
    part, parts = b"z" * 256 * 1024, 64
    sent: list[int] = []

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < parts - 1})
            sent.append(i)

    async with running(app) as server:
        conn = await Raw.open(server, rcvbuf=65536)
        await conn.send(GET)
        await asyncio.sleep(0.3)
        held = len(sent)
        answer = await conn.response()
        await conn.close()
    assert held < parts
    assert len(answer.body) == len(part) * parts


async def test_upgrade_request_is_answered_by_the_app_and_closed() -> None:
    """A websocket upgrade request gets the app's plain response, then the connection closes."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await reply(send, b"no websockets", status=404)

    async with running(app) as server:
        conn = await Raw.open(server)
        await conn.send(
            b"GET /ws HTTP/1.1\r\nhost: t\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"
            b"\x81\x05hello"
        )
        answer = await conn.response()
        assert await conn.eof()
        await conn.close()
    assert (answer.status, answer.headers["connection"]) == (404, "close")


async def test_head_and_first_body_go_out_in_one_write() -> None:
    """The response head and its first body bytes are one transport.write (one syscall)."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/stream":
            await stream(send, [b"first", b"second"])
        else:
            await reply(send, b"whole")

    writes: list[bytes] = []

    class Recording:
        def __init__(self, transport: Any) -> None:
            self._transport = transport

        def write(self, data: bytes) -> None:
            writes.append(bytes(data))
            self._transport.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._transport, name)

    async with running(app) as server:
        conn = await Raw.open(server)
        while not server.connections:
            await asyncio.sleep(0.001)
        (served,) = server.connections
        served.transport = Recording(served.transport)
        await conn.send(GET)
        await conn.response()
        await conn.send(b"GET /stream HTTP/1.1\r\nhost: t\r\n\r\n")
        await conn.response()
        await conn.close()
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\nwhole")
    assert writes[1].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[1].endswith(b"5\r\nfirst\r\n")
    assert writes[2:] == [b"6\r\nsecond\r\n0\r\n\r\n"]


async def test_lifespan_runs_and_its_state_reaches_requests() -> None:
    """Startup runs before serving and shutdown after; requests see a copy of its state."""
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            scope["state"]["db"] = "connected"
            events.append("startup")
            await send({"type": "lifespan.startup.complete"})
            assert (await receive())["type"] == "lifespan.shutdown"
            events.append("shutdown")
            await send({"type": "lifespan.shutdown.complete"})
            return
        events.append(f"request sees {scope['state']}")
        scope["state"]["db"] = "changed by a request"
        await reply(send, b"")

    async with running(app) as server, httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{port_of(server)}/"
        await client.get(url)
        await client.get(url)
        assert events[-1] == "request sees {'db': 'connected'}"
    assert events == ["startup", *["request sees {'db': 'connected'}"] * 2, "shutdown"]


async def test_failed_startup_raises_and_binds_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """lifespan.startup.failed raises StartupFailed with the app's message, logged."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    server = HttpServer(app)
    with pytest.raises(StartupFailed, match="no database"):
        await server.start(host="127.0.0.1", port=0)
    assert server.address is None
    assert "no database" in caplog.text


async def test_app_without_lifespan_is_served_without_state() -> None:
    """An app that raises on the lifespan scope at once is served, with no state in scope."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await reply(send, str("state" in scope).encode())

    async with running(app) as server, httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port_of(server)}/")
    assert answer.text == "False"


async def test_idle_keep_alive_connection_is_closed_after_the_timeout() -> None:
    """An idle keep-alive connection is closed once keep_alive_s has passed, not before."""
    async with running(echo, keep_alive_s=0.3, sweep_interval_s=0.05) as server:
        conn = await Raw.open(server)
        await conn.send(GET)
        await conn.response()
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await conn.eof()
        waited = loop.time() - began
        await conn.close()
    assert 0.25 <= waited < 1.0


async def test_slow_request_head_is_closed_after_the_header_timeout() -> None:
    """A request head that does not complete within header_timeout_s gets the connection closed."""
    async with running(echo, header_timeout_s=0.2, sweep_interval_s=0.05) as server:
        conn = await Raw.open(server)
        await conn.send(b"GET / HTTP/1.1\r\nhost: t\r\n")
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await conn.eof()
        waited = loop.time() - began
        await conn.close()
    assert waited < 1.0


async def test_shutdown_lets_a_request_in_flight_finish() -> None:
    """Shutdown closes idle connections at once and lets a request in flight answer."""
    entered = asyncio.Event()

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        entered.set()
        await asyncio.sleep(0.1)
        await reply(send, b"finished")

    server = HttpServer(app)
    await server.start(host="127.0.0.1", port=0)
    idle, busy = await Raw.open(server), await Raw.open(server)
    await busy.send(GET)
    await entered.wait()
    stopping = asyncio.ensure_future(server.shutdown())
    assert await idle.eof(timeout=0.5)
    answer = await busy.response()
    await asyncio.wait_for(stopping, 2)
    await idle.close()
    await busy.close()
    assert (answer.body, answer.headers["connection"]) == (b"finished", "close")


async def test_shutdown_drops_requests_past_the_grace_period() -> None:
    """A request still running after shutdown_grace_s is cancelled and its connection dropped."""
    cancelled = asyncio.Event()

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server = HttpServer(app, options=ServerOptions(shutdown_grace_s=0.2))
    await server.start(host="127.0.0.1", port=0)
    conn = await Raw.open(server)
    await conn.send(GET)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(server.shutdown(), 2)
    assert cancelled.is_set()
    assert await conn.eof()
    await conn.close()


async def test_serve_logs_its_address_and_stops_on_sigint(caplog: pytest.LogCaptureFixture) -> None:
    """serve() logs "running on http://127.0.0.1:PORT" with the bound port and exits on SIGINT."""
    caplog.set_level(logging.INFO, logger="openclaw_failover.proxy")
    started: list[tuple[str, int]] = []

    def on_started(address: tuple[str, int]) -> None:
        started.append(address)
        os.kill(os.getpid(), signal.SIGINT)

    await asyncio.wait_for(serve(echo, host="127.0.0.1", port=0, on_started=on_started), 5)
    assert started[0][1] > 0
    assert f"running on http://127.0.0.1:{started[0][1]} " in caplog.text
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


async def test_early_reply_reaches_a_client_still_sending_its_body() -> None:
    """An early Connection: close reply reaches a client still uploading (no reset: lingering)."""

    @http_only
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await reply(send, b"too large", status=413, headers=((b"connection", b"close"),))

    total = 4 * 1024 * 1024
    async with running(app, linger_s=1.0, sweep_interval_s=0.05) as server:
        conn = await Raw.open(server)
        conn.writer.write(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: %d\r\n\r\n" % total)
        sender = asyncio.ensure_future(conn.send(b"x" * total))
        answer = await conn.response()
        await sender
        assert await conn.eof()
        await conn.close()
    assert (answer.status, answer.body) == (413, b"too large")
