"""A pooled HTTP/1.1 transport for httpx over asyncio protocols and httptools.

httpx's default transport (httpcore over anyio and h11) spends most of a proxied request's CPU
on its own bookkeeping: cancel scopes, locks, a pool scan that polls every idle socket, two
socket writes per request. This transport keeps httpx's client API (request building, headers,
decoding, the exception classes the classifier maps) and replaces only the wire: one
``asyncio.Protocol`` per connection, httptools for parsing, one write per request, and a LIFO
list of idle connections per origin.

Errors are httpx's own classes, raised where httpcore raises them: ``ConnectError`` /
``ConnectTimeout`` while connecting, ``WriteError`` while sending, ``ReadTimeout`` when a read
waits longer than the request's read timeout, ``ReadError`` for a reset, and
``RemoteProtocolError`` for a peer that closes early or sends bytes that are not HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httptools
import httpx

__all__ = ["PooledClient", "PooledHTTP1Transport", "PooledResponse"]

Origin = tuple[bytes, bytes, int]
_READ_PAUSE_BYTES = 1 << 20  # stop reading a body nobody consumes past 1 MiB buffered
_NO_BODY_STATUSES = frozenset({204, 304})
_LINE_BREAK = re.compile(rb"[\r\n\x00]")


class _Connection(asyncio.Protocol):
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
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"invalid HTTP response: {exc}"))
            self.close()

    def eof_received(self) -> bool:
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

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
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


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives; closing it returns the connection to the pool."""

    def __init__(
        self,
        pool: PooledHTTP1Transport,
        conn: _Connection,
        request: httpx.Request | None,
        read_s: Any,
    ) -> None:
        self._pool = pool
        self._conn = conn
        self._request = request
        self._read_s = read_s
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            if conn.chunks:
                yield conn.take()
                continue
            if conn.error is not None:
                raise _bound(conn.error, self._request)
            if conn.complete:
                return
            await conn.wait(self._read_s, self._request)

    def take(self) -> bytes | None:
        """What :meth:`PooledResponse.take` says."""
        conn = self._conn
        if conn.chunks:
            return conn.take()
        if conn.error is not None:
            raise _bound(conn.error, self._request)
        return None if conn.complete else b""

    async def wait(self) -> None:
        """Wait for the connection's next parser event."""
        await self._conn.wait(self._read_s, self._request)

    def settled(self) -> bool:
        """Whether the rest of the body is already here (or the connection already failed),
        so reading it to its end cannot wait."""
        return self._conn.complete or self._conn.error is not None

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._pool.release(self._conn)


def _bound(error: Exception, request: httpx.Request | None) -> Exception:
    if request is not None and isinstance(error, httpx.RequestError):
        error.request = request
    return error


class PooledResponse:
    """A response read straight off a pooled connection (:meth:`PooledHTTP1Transport.open`):
    its status, its headers (lower-case names, repeated ones joined with ``", "`` as httpx's
    ``get`` does), and its body as it arrives. Closing it returns the connection."""

    __slots__ = ("_headers", "_raw", "status_code", "stream")

    def __init__(self, status: int, raw: list[tuple[bytes, bytes]], body: _Body) -> None:
        self.status_code = status
        self._raw = raw
        self._headers: dict[str, str] | None = None
        self.stream = body

    @property
    def headers(self) -> Mapping[str, str]:
        """Every header, decoded on first use (a provider sends a score of them; the usual
        answer needs one, through :meth:`header`)."""
        if self._headers is None:
            headers: dict[str, str] = {}
            for name, value in self._raw:
                key, text = name.decode("latin-1").lower(), value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            self._headers = headers
        return self._headers

    def header(self, name: bytes) -> str:
        """One header's value (``name`` in lower case), repeated ones joined; ``""`` when
        absent."""
        found = [value for key, value in self._raw if key.lower() == name]
        return b", ".join(found).decode("latin-1")

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (read once)."""
        return self.stream.__aiter__()

    def take(self) -> bytes | None:
        """The body bytes received and not yet taken, ``b""`` when none are here yet, or
        None once the body is complete and every byte was taken. A failed connection raises
        its error (an httpx class)."""
        return self.stream.take()

    async def wait(self) -> None:
        """Wait until :meth:`take` has something new to say (bounded by the read timeout)."""
        await self.stream.wait()

    async def aread(self) -> bytes:
        """The whole body; the connection goes back to the pool."""
        try:
            return b"".join([chunk async for chunk in self.stream])
        finally:
            await self.stream.aclose()

    async def aclose(self) -> None:
        """Give the connection back (or close it, when the body was not read to its end)."""
        await self.stream.aclose()


class PooledHTTP1Transport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` with a keep-alive pool per origin.

    ``max_connections`` bounds the exchanges in flight (a further request waits);
    ``max_keepalive`` bounds the idle connections kept per origin, each for at most
    ``keepalive_expiry`` seconds.
    """

    def __init__(
        self,
        *,
        max_connections: int = 512,
        max_keepalive: int = 128,
        keepalive_expiry: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}
        self._slots = asyncio.Semaphore(max_connections)
        self._max_keepalive = max_keepalive
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a pooled or new connection; return once the headers arrived."""
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        origin: Origin = (url.raw_scheme, url.raw_host, url.port or _default_port(url))
        conn = await self._exchange(origin, _encode(request), timeouts, request)
        read_s = timeouts.get("read")
        return httpx.Response(
            conn.status,
            headers=conn.headers,
            stream=_Body(self, conn, request, read_s),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": conn.reason.strip()},
        )

    async def open(
        self, origin: Origin, data: bytes, timeouts: Mapping[str, float | None]
    ) -> PooledResponse:
        """Send ``data``, a whole request (head and body) for ``origin``, on a pooled or new
        connection; return once the headers arrived. What :meth:`handle_async_request` does,
        for a caller that builds the request's bytes itself, without httpx's request and
        response objects (errors are the same httpx classes, with no request attached)."""
        conn = await self._exchange(origin, data, timeouts, None)
        body = _Body(self, conn, None, timeouts.get("read"))
        return PooledResponse(conn.status, conn.headers, body)

    async def _exchange(
        self,
        origin: Origin,
        data: bytes,
        timeouts: Mapping[str, float | None],
        request: httpx.Request | None,
    ) -> _Connection:
        """Send ``data`` on a connection of ``origin``, holding one of the pool's slots until
        the body is released; return the connection once the response's headers arrived."""
        await self._slots.acquire()
        try:
            conn = await self._acquire(origin, request, timeouts.get("connect"))
        except BaseException:
            self._slots.release()
            raise
        try:
            conn.start()
            await conn.send(data, timeouts.get("write"), request)
            read_s = timeouts.get("read")
            while not conn.headers_done:
                if conn.error is not None:
                    raise _bound(conn.error, request)
                await conn.wait(read_s, request)
        except BaseException:
            conn.close()
            self._slots.release()
            raise
        return conn

    async def _acquire(
        self, origin: Origin, request: httpx.Request | None, connect_s: float | None
    ) -> _Connection:
        idle = self._idle.get(origin)
        if idle:
            now = asyncio.get_running_loop().time()
            while idle:
                conn = idle.pop()
                if not conn.closed and conn.expires_at > now:
                    return conn
                conn.close()
        return await self._connect(origin, request, connect_s)

    async def _connect(
        self, origin: Origin, request: httpx.Request | None, connect_s: float | None
    ) -> _Connection:
        scheme, host, port = origin
        hostname = host.decode("ascii")
        secure = scheme == b"https"
        if secure and self._ssl is None:
            self._ssl = httpx.create_ssl_context(trust_env=False)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_s):
                _, conn = await loop.create_connection(
                    lambda: _Connection(origin),
                    hostname,
                    port,
                    ssl=self._ssl if secure else None,
                    server_hostname=hostname if secure else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return conn

    def release(self, conn: _Connection) -> None:
        """Take back a connection whose response was closed."""
        self._slots.release()
        conn.active = False
        idle = self._idle.setdefault(conn.origin, [])
        if self._closed or not conn.reusable() or len(idle) >= self._max_keepalive:
            conn.close()
            return
        conn.expires_at = asyncio.get_running_loop().time() + self._expiry
        idle.append(conn)

    async def aclose(self) -> None:
        """Close every idle connection; busy ones close when their response does."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _default_port(url: httpx.URL) -> int:
    return 443 if url.raw_scheme == b"https" else 80


def refuse_line_breaks(
    head: bytes, request: httpx.Request | None = None, *, what: str = "a request header"
) -> None:
    """Raise ``LocalProtocolError`` naming ``what`` if request-head text holds CR, LF or NUL:
    written as is it would end a header early and inject another (httpx lets them through;
    h11 would refuse them)."""
    if _LINE_BREAK.search(head):
        raise httpx.LocalProtocolError(
            f"{what} holds a line break or NUL (it would inject a header)", request=request
        )


def _encode(request: httpx.Request) -> bytes:
    """The request head and its whole body, ready for one write."""
    head = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    head += [b"%s: %s" % (name, value) for name, value in request.headers.raw]
    refuse_line_breaks(b"".join(head), request)
    try:
        body = request.content
    except httpx.RequestNotRead:  # a streamed body: read it (the proxy never sends one)
        raise httpx.LocalProtocolError(
            "a streamed request body is not supported", request=request
        ) from None
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class PooledClient(httpx.AsyncClient):
    """httpx's client over a :class:`PooledHTTP1Transport` that sends each request as built:
    no auth flow, no redirects, and no cookie jar shared by every caller of the proxy (httpx
    parses each response's cookies into one, at a cost per request a proxy should not pay)."""

    def __init__(self, pool: PooledHTTP1Transport, *, timeout: httpx.Timeout) -> None:
        super().__init__(transport=pool, timeout=timeout, trust_env=False)
        self.pool = pool

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """Send ``request`` on the pool; ``stream=False`` reads the body before returning."""
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if auth not in (httpx.USE_CLIENT_DEFAULT, None) or follow_redirects is True:
            raise ValueError("PooledClient sends requests as built: no auth, no redirects")
        request.extensions.setdefault("timeout", self.timeout.as_dict())
        response = await self.pool.handle_async_request(request)
        response.request = request
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response
