"""The HTTP server's connection: an asyncio protocol that parses requests with httptools."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from typing import Any, cast
from urllib.parse import unquote

import httptools
from starlette.types import Scope

from ._server_cycle import BODY_HIGH_WATER, RequestCycle, error_reply
from ._server_hub import ServerHub

_BAD_REQUEST = error_reply(400, "invalid HTTP request", "invalid_request_error")
_HEAD_TOO_LARGE = error_reply(431, "request header fields too large", "invalid_request_error")
_BAD_VERSION = error_reply(505, "HTTP version not supported", "invalid_request_error")

#: Requests a client may pipeline behind the one in flight; past that the connection stops
#: parsing and closes once the queued ones are answered (bounds the memory one read can pin).
MAX_PIPELINED = 32

_METHODS = {m.encode(): m for m in ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH")}


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; ``reply`` (if any) closes the connection."""

    def __init__(self, reply: bytes | None) -> None:
        super().__init__()
        self.reply = reply


def _address(info: Any) -> tuple[str, int] | None:
    if isinstance(info, tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    return None


class HttpConnection(asyncio.Protocol):
    """One client connection: requests parsed as they arrive, answered one at a time in
    order (pipelined ones wait, with reading paused), the body under flow control."""

    __slots__ = (
        "_accepting",
        "_client",
        "_client_done",
        "_current",
        "_expect_100",
        "_fatal",
        "_head_began",
        "_head_bytes",
        "_headers",
        "_hub",
        "_idle_since",
        "_in_head",
        "_linger_began",
        "_parser",
        "_pipeline",
        "_progress",
        "_reading_paused",
        "_receiving",
        "_server",
        "_stalled",
        "_url",
        "_writable",
        "transport",
        "write_paused",
    )

    transport: asyncio.Transport

    def __init__(self, hub: ServerHub) -> None:
        self._hub = hub
        self._parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        # Bytes after a "Connection: close" request are ignored, not a parse error that
        # would answer 400 while the request before them is still being answered.
        self._parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self._client: tuple[str, int] | None = None
        self._server: tuple[str, int] | None = None
        self._current: RequestCycle | None = None  # the request being answered
        self._receiving: RequestCycle | None = None  # the request whose body is arriving
        self._pipeline: deque[RequestCycle] = deque()
        self._accepting = True
        self._fatal: bytes | None = None
        self._reading_paused = False
        self.write_paused = False
        self._writable: asyncio.Event | None = None
        self._in_head = False
        self._linger_began: float | None = None
        self._client_done = False  # its FIN arrived: nothing to linger for
        self._head_began = self._idle_since = hub.loop.time()
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = self._stalled = 0
        self._progress = False  # a read reached a message boundary or body bytes
        self._expect_100 = False

    # asyncio's side.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection; TCP_NODELAY (a response's head and body go out whole)."""
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = _address(transport.get_extra_info("peername"))
        self._server = _address(transport.get_extra_info("sockname"))
        if not self._hub.admit(self):  # max_connections, every other one busy
            self._accepting = False
            transport.close()
            return
        if self._hub.stopping:
            self.shutdown()

    def idle_since(self) -> float | None:
        """When the connection went idle between requests (loop time), None while busy."""
        if self._current is None and not self._in_head and self._linger_began is None:
            return self._idle_since
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Tell every request on the connection that the client is gone."""
        hub = self._hub
        hub.connections.discard(self)
        if hub.stopping and not hub.connections:
            hub.all_closed.set()
        for cycle in (self._current, self._receiving, *self._pipeline):
            if cycle is not None:
                cycle.disconnect()
        self._pipeline.clear()
        self._current = self._receiving = None
        self._parser = None  # the parser holds the protocol: let both go
        self.write_paused = False
        if self._writable is not None:
            self._writable.set()

    def data_received(self, data: bytes) -> None:
        """Feed the parser; a bad request gets its error reply once earlier ones are answered."""
        parser = self._parser
        if parser is None or not self._accepting:
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # the rest is another protocol: answer and close
            self._accepting = False
            if self._receiving is not None:
                self._receiving.keep_alive = False
        except httptools.HttpParserError as exc:
            refused = exc.__context__
            if isinstance(refused, _Refused):
                self._stop(refused.reply)
            else:  # llhttp's messages are fixed text; a callback's error is named, not quoted
                reason = exc if refused is None else type(refused).__name__
                hub = self._hub
                hub.invalid_warning.warn(
                    hub.loop.time(), "invalid HTTP request received: %s", reason
                )
                self._stop(_BAD_REQUEST)
        else:
            # Reads that reach no message boundary and no body byte (a head or trailer
            # growing, chunk framing) are bounded: httptools buffers a header's value whole.
            if self._progress:
                self._progress = False
                self._stalled = 0
            else:
                self._stalled += len(data)
                if self._stalled > self._hub.options.max_head_bytes:
                    self._stop(_HEAD_TOO_LARGE)

    def eof_received(self) -> bool:
        """The client sent its FIN: answer the requests it sent whole, then close (a
        half-close right after a request still gets the response). Each of them hears
        ``http.disconnect`` if it listens: an HTTP client that gives up (a timeout) closes its
        socket, which reaches us as a FIN, and a request held for it must stop, not go on
        (and fail over) for nobody."""
        self._client_done = True
        if self._linger_began is not None:  # it read the reply and stopped sending
            self.transport.close()
            return True
        self._accepting = False
        self._in_head = False
        self._drop_unfinished()
        for cycle in (self._current, *self._pipeline):
            if cycle is not None:
                cycle.peer_closed()
        if self._current is None:
            self._finish()
        return True  # keep the transport open for the responses still to come

    def pause_writing(self) -> None:
        """The transport's buffer is full: ``send`` waits in :meth:`drain`."""
        self.write_paused = True
        if self._writable is not None:
            self._writable.clear()

    def resume_writing(self) -> None:
        """The transport's buffer drained."""
        self.write_paused = False
        if self._writable is not None:
            self._writable.set()

    # The parser's side.

    def on_message_begin(self) -> None:
        """A request head begins."""
        self._in_head = self._progress = True
        self._head_began = self._hub.loop.time()
        self._url = b""
        self._headers = []
        self._head_bytes = 0
        self._expect_100 = False

    def on_url(self, url: bytes) -> None:
        """A piece of the request target."""
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > self._hub.options.max_head_bytes:
            raise _Refused(_HEAD_TOO_LARGE)

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header (trailers of a chunked body are not part of the scope)."""
        if not self._in_head:
            return
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self._hub.options.max_head_bytes:
            raise _Refused(_HEAD_TOO_LARGE)
        name = name.lower()
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace (RFC 9110 5.5)
        if name == b"expect" and value.lower() == b"100-continue":
            self._expect_100 = True
        elif name == b"transfer-encoding":
            self._check_chunked(value)
        self._headers.append((name, value))

    def _check_chunked(self, value: bytes) -> None:
        """Refuse any Transfer-Encoding but one ``chunked`` on HTTP/1.1: llhttp takes
        ``gzip, chunked`` (a coding the app would not undo), a second header, HTTP/1.0
        (RFC 9112 6.1: faulty framing), and fails others only after the head, with the
        app already waiting for a body."""
        parser = cast(httptools.HttpRequestParser, self._parser)
        if (
            value.lower() != b"chunked"
            or parser.get_http_version() != "1.1"
            or any(name == b"transfer-encoding" for name, _ in self._headers)
        ):
            raise _Refused(_BAD_REQUEST)

    def on_headers_complete(self) -> None:
        """The head is whole: run the request now, or queue it behind the one in flight."""
        self._in_head = False
        self._progress = True
        parser = cast(httptools.HttpRequestParser, self._parser)
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise _Refused(_BAD_VERSION)
        if not self._accepting or len(self._pipeline) >= MAX_PIPELINED:
            raise _Refused(None)
        cycle = RequestCycle(
            self,
            self._scope(version, parser.get_method()),
            keep_alive=parser.should_keep_alive() and not parser.should_upgrade(),
            expect_100=self._expect_100 and version == "1.1",
        )
        self._receiving = cycle
        if self._current is None:
            self._current = cycle
            self._hub.start(cycle)
        else:
            self._pipeline.append(cycle)
            self._update_reading()

    def _scope(self, version: str, method: bytes) -> Scope:
        url = self._url
        if url[:1] == b"/" and b"#" not in url:
            raw_path, _, query = url.partition(b"?")
        else:  # absolute-form, "*", a fragment
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path or b"/", parsed.query or b""
        path = raw_path.decode("ascii")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": version,
            "method": _METHODS.get(method) or method.decode("ascii"),
            "scheme": "http",
            "path": unquote(path) if "%" in path else path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": self._headers,
            "client": self._client,
            "server": self._server,
        }
        if self._hub.state is not None:
            scope["state"] = self._hub.state.copy()
        return scope

    def on_body(self, body: bytes) -> None:
        """Body bytes for the request being received (dropped once it was answered)."""
        self._progress = True
        cycle = self._receiving
        if cycle is None or cycle.response_complete or cycle.disconnected:
            return
        cycle.feed(body)
        if cycle.buffered > BODY_HIGH_WATER and not self._reading_paused:
            self._update_reading()

    def on_message_complete(self) -> None:
        """The request (body included) is whole."""
        self._progress = True
        cycle = self._receiving
        if cycle is not None:
            cycle.end_body()
            if not cycle.keep_alive:
                self._accepting = False

    # The requests' side.

    async def drain(self) -> None:
        """Return once the transport takes writes again, or the connection is gone."""
        if self._writable is None:
            self._writable = asyncio.Event()
        while self.write_paused:
            await self._writable.wait()

    def body_consumed(self) -> None:
        """The app took the buffered body: resume reading if it was paused for it."""
        if self._reading_paused:
            self._update_reading()

    def response_done(self, cycle: RequestCycle) -> None:
        """A response went out whole: close, start the next queued request, or go idle."""
        if cycle is not self._current:
            return
        if cycle is self._receiving and not cycle.more_body:
            self._receiving = None  # an idle connection keeps no request (nor its scope) alive
        transport = self.transport
        if not cycle.keep_alive or transport.is_closing():
            self.close()
            return
        if self._pipeline:
            self._current = self._pipeline.popleft()
            self._hub.start(self._current)
        else:
            self._current = None
            if not self._accepting:  # an error reply waited for the requests before it
                self._finish()
                return
            self._idle_since = self._hub.loop.time()
        self._update_reading()

    def _stop(self, reply: bytes | None) -> None:
        """Parse nothing more; send ``reply`` and close after the requests before it (a
        request whose body broke off is dropped, not waited for)."""
        self._accepting = False
        self._in_head = False
        if self._drop_unfinished():
            reply = None  # its response began: a cut response, not a 400 inside it
        self._fatal = reply
        if self._current is None:
            self._finish()

    def _drop_unfinished(self) -> bool:
        """Give up the request whose body is still arriving, as it can never be whole: its
        app sees ``http.disconnect`` (it is not left waiting); True if its response had
        begun."""
        cycle = self._receiving
        if cycle is None or not cycle.more_body:
            return False
        self._receiving = None
        if self._pipeline and self._pipeline[-1] is cycle:  # queued: never started
            self._pipeline.pop()
            return False
        if cycle is not self._current:  # answered already
            return False
        self._current = None
        cycle.disconnect()
        return cycle.response_started

    def _finish(self) -> None:
        if self._fatal is not None and not self.transport.is_closing():
            self.transport.write(self._fatal)
        self.close()

    def close(self) -> None:
        """Close the connection; if the client may still be sending (a refused head, a body
        not read to its end), half-close and drop what arrives for up to ``linger_s`` first,
        so that it reads the reply rather than a reset."""
        self._accepting = False
        self._current = None
        self._pipeline.clear()
        transport = self.transport
        receiving = self._receiving
        still_sending = self._fatal is not None or (receiving is not None and receiving.more_body)
        if (
            not still_sending
            or self._client_done
            or transport.is_closing()
            or not transport.can_write_eof()
        ):
            transport.close()
            return
        if self._linger_began is None:
            self._linger_began = self._hub.loop.time()
            self._receiving = None
            self._update_reading()
            transport.write_eof()

    def _update_reading(self) -> None:
        """Pause reading while requests are queued or too much body waits unconsumed."""
        if self.transport.is_closing():
            return
        cycle = self._receiving
        pause = bool(self._pipeline) or (cycle is not None and cycle.buffered > BODY_HIGH_WATER)
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    # The server's side.

    def expire(self, now: float) -> None:
        """Close the connection if idle past the keep-alive or slow to send a request head."""
        if self._current is not None or self.transport.is_closing():
            return
        opts = self._hub.options
        if self._linger_began is not None:
            if now - self._linger_began > opts.linger_s:
                self.transport.close()
        elif self._in_head:
            if now - self._head_began > opts.header_timeout_s:
                self.transport.close()
        elif now - self._idle_since > opts.keep_alive_s:
            self.transport.close()

    def shutdown(self) -> None:
        """Take no more requests: close now if idle, else after the one in flight."""
        self._accepting = False
        self._in_head = False
        self._pipeline.clear()
        if self._current is None:
            self.transport.close()
        else:
            self._current.keep_alive = False
            self._update_reading()

    def abort(self) -> None:
        """Drop the connection now, unsent bytes and all."""
        self.transport.abort()
