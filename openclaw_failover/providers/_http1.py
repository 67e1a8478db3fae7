"""A pooled HTTP/1.1 transport for httpx over asyncio protocols and httptools.

httpx's default transport (httpcore over anyio and h11) spends most of a proxied request's CPU
on its own bookkeeping: cancel scopes, locks, a pool scan that polls every idle socket, two
socket writes per request. This transport keeps httpx's client API (request building, headers,
decoding, the exception classes the classifier maps) and replaces only the wire: one
``asyncio.Protocol`` per connection (``_http1_conn``), httptools for parsing, one write per
request, and a LIFO list of idle connections per origin.

Errors are httpx's own classes, raised where httpcore raises them: ``ConnectError`` /
``ConnectTimeout`` while connecting, ``WriteError`` while sending, ``ReadTimeout`` when a read
waits longer than the request's read timeout, ``ReadError`` for a reset, and
``RemoteProtocolError`` for a peer that closes early, sends bytes that are not HTTP, or a
response head past its bounds (``_http1_conn.MAX_HEAD_BYTES``, ``MAX_HEADER_FIELDS``).
A pooled connection whose FIN arrived is closed at once and never picked again. A request is
never sent twice: a failure before any byte of the response may still be one the upstream read
(it reset or closed the connection after reading it), and a second, unaudited call to it would
break "every upstream call is audited" and may bill twice; the engine's own retry policy decides.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from ._http1_conn import Connection, Origin

__all__ = ["PooledClient", "PooledHTTP1Transport", "PooledResponse"]

_LINE_BREAK = re.compile(rb"[\r\n\x00]")


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives; closing it returns the connection to the pool."""

    def __init__(
        self,
        pool: PooledHTTP1Transport,
        conn: Connection,
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


async def _send(
    conn: Connection,
    data: bytes,
    timeouts: Mapping[str, float | None],
    request: httpx.Request | None,
) -> None:
    """Send ``data`` on ``conn`` and wait for the response's headers; on any failure the
    connection is closed."""
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
        raise


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
        self._idle: dict[Origin, list[Connection]] = {}
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
    ) -> Connection:
        """Send ``data`` on a connection of ``origin``, holding one of the pool's slots until
        the body is released; return the connection once the response's headers arrived."""
        await self._slots.acquire()
        try:
            conn = await self._acquire(origin, request, timeouts.get("connect"))
            await _send(conn, data, timeouts, request)
        except BaseException:
            self._slots.release()
            raise
        return conn

    async def _acquire(
        self, origin: Origin, request: httpx.Request | None, connect_s: float | None
    ) -> Connection:
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
    ) -> Connection:
        scheme, host, port = origin
        hostname = host.decode("ascii")
        secure = scheme == b"https"
        if secure and self._ssl is None:
            self._ssl = httpx.create_ssl_context(trust_env=False)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_s):
                _, conn = await loop.create_connection(
                    lambda: Connection(origin),
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

    def release(self, conn: Connection) -> None:
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
