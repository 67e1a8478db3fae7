"""One pooled HTTP/1.1 connection to an upstream: an ``asyncio.Protocol`` that writes a whole
request at once and parses the response with httptools.

At most one exchange runs on a connection at a time. The parser's callbacks fill in the status,
the raw headers and the body's chunks; ``wait`` sleeps until the next of them (bounded by the
read timeout) and ``take`` hands over every body byte received so far. Errors are httpx's own
classes, set where httpcore raises them (:mod:`._http1` says which).

A response head is bounded as the proxy's own server bounds a request's (64 KiB): an upstream
that sends headers without end, or one header without end (httptools holds a header whole
until it ends), fails the exchange as ``RemoteProtocolError`` once its head passes
:data:`MAX_HEAD_BYTES` or :data:`MAX_HEADER_FIELDS`, and the connection is closed, instead of
growing the proxy's memory until a deadline fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque

import httptools
import httpx

__all__ = ["MAX_HEADER_FIELDS", "MAX_HEAD_BYTES", "Connection", "Origin"]

#: (scheme, host, port), as httpx's ``URL`` spells them.
Origin = tuple[bytes, bytes, int]
_READ_PAUSE_BYTES = 1 << 20  # stop reading a body nobody consumes past 1 MiB buffered
_NO_BODY_STATUSES = frozenset({204, 304})
#: The most bytes a response head may take before its end: the status line and headers, with
#: any interim 1xx heads before it (the server's ``max_head_bytes`` default for a request).
#: Past the head, as many bytes that complete nothing (a trailer without end) fail it too.
MAX_HEAD_BYTES = 65536
#: The most header fields a response may carry (trailers included); providers send a score.
MAX_HEADER_FIELDS = 128


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; at most one exchange at a time."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.expires_at = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._paused_writing: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.until_close = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.error: Exception | None = None
        self.active = False
        self._head_bytes = 0  # bytes read before the final head ended
        self._stalled = 0  # bytes read since the parser last completed anything
        self._progress = False

    # ------------------------------------------------------------------ protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if not self.active:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self._progress = False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not self.complete:
                refused = exc.__context__
                message = str(refused) if isinstance(refused, _HeadTooLarge) else None
                self._fail(httpx.RemoteProtocolError(message or f"invalid HTTP response: {exc}"))
            # else bytes after a whole response (on_message_begin): the response stands,
            # and the connection, out of step with the upstream, is never used again.
            self.close()
            return
        if not self.headers_done:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(f"more than {MAX_HEAD_BYTES} bytes and still no end of the head")
        elif self._progress or self.complete:
            self._stalled = 0
        else:
            self._stalled += len(data)
            if self._stalled > MAX_HEAD_BYTES:
                self._refuse(f"more than {MAX_HEAD_BYTES} bytes of trailers or chunk framing")

    def eof_received(self) -> bool:
        # The transport closes now (False below) and says so only a loop turn later, in
        # connection_lost: mark it at once, so the pool never picks it in between.
        self.closed = True
        if self.active and self.until_close and self.headers_done:
            self.complete = True
            self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.active and not self.complete:
            if exc is not None:
                self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
            elif not self.headers_done:
                self._fail(httpx.RemoteProtocolError("Server disconnected without a response."))
            else:
                self._fail(httpx.RemoteProtocolError("peer closed the connection mid-body"))
        if self._paused_writing is not None and not self._paused_writing.done():
            self._paused_writing.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._paused_writing is not None and not self._paused_writing.done():
            self._paused_writing.set_result(None)
        self._paused_writing = None

    # ------------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        if self.headers_done:  # more after the (final) response: stop parsing here
            raise _AfterResponse

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADER_FIELDS:
            raise _HeadTooLarge(_too_large(f"more than {MAX_HEADER_FIELDS} header fields"))
        self.headers.append((name, value))
        self._progress = True

    def on_headers_complete(self) -> None:
        self._progress = True
        self.status = self._parser.get_status_code()
        if self.status < 200:  # an interim 1xx: wait for the real one
            self.reason, self.headers = b"", []
            return
        self.headers_done = True
        self.keep_alive = self._parser.should_keep_alive()
        names = {name.lower() for name, _ in self.headers}
        self.until_close = (
            b"content-length" not in names
            and b"transfer-encoding" not in names
            and self.status not in _NO_BODY_STATUSES
        )
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._progress = True
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _READ_PAUSE_BYTES and self.transport is not None:
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.headers_done:
            self.complete = True
            self._wake()

    # ------------------------------------------------------------------ the exchange

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _refuse(self, found: str) -> None:
        """Fail the exchange for a head past its bounds, and drop the connection (and what
        the head had piled up: the parser holds it until the socket is gone)."""
        if not self.headers_done:
            self.headers = []
        self._fail(httpx.RemoteProtocolError(_too_large(found)))
        self.close()

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    async def wait(self, read_s: float | None, request: httpx.Request | None) -> None:
        """Wait for the next parser event; ``ReadTimeout`` after ``read_s`` seconds (one timer
        handle, cheaper than ``asyncio.timeout``)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if read_s is None else loop.call_later(read_s, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the upstream", request=request) from None
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def send(self, data: bytes, write_s: float | None, request: httpx.Request | None) -> None:
        """Write ``data``; wait out back-pressure within the write timeout."""
        if self.closed or self.transport is None or self.transport.is_closing():
            raise httpx.RemoteProtocolError("the connection closed before sending", request=request)
        self.transport.write(data)
        paused = self._paused_writing
        if paused is not None:
            try:
                async with asyncio.timeout(write_s):
                    await paused
            except TimeoutError:
                raise httpx.WriteTimeout("timed out writing", request=request) from None
        if self.closed and not self.headers_done and self.error is None:
            raise httpx.WriteError("the connection closed while sending", request=request)

    def take(self) -> bytes:
        """Every body byte received and not yet taken."""
        data = b"".join(self.chunks) if len(self.chunks) != 1 else self.chunks[0]
        self.chunks.clear()
        if self.buffered > _READ_PAUSE_BYTES and self.transport is not None:
            self.transport.resume_reading()
        self.buffered = 0
        return data

    def reusable(self) -> bool:
        """Whether the finished exchange left the connection clean for the next one."""
        return self.complete and self.keep_alive and not self.closed and self.error is None

    def start(self) -> None:
        """Begin an exchange on this connection."""
        self._reset()
        self.active = True

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _HeadTooLarge(Exception):
    """A response head past its bounds, raised from a parser callback to stop the parse."""


def _too_large(found: str) -> str:
    return (
        f"upstream response head too large: {found} (expected at most {MAX_HEAD_BYTES} bytes"
        f" and {MAX_HEADER_FIELDS} header fields)"
    )


class _AfterResponse(Exception):
    """Bytes after a whole response: a second response to one request, or a body longer
    than its length said. Parsed on, they would land in this response's body or, left
    half-parsed in the parser, in the next exchange's."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
