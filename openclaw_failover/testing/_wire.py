"""Minimal HTTP/1.1 on asyncio streams for the fake providers: read a request, write replies
byte by byte as a misbehaving upstream would (chunked frames, partial writes, FIN, RST)."""

from __future__ import annotations

import asyncio
import contextlib
import http
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["BadRequest", "Conn", "HttpRequest", "read_request"]

_MAX_HEAD = 1 << 20
_MAX_BODY = 64 << 20


class BadRequest(Exception):
    """The bytes received are not an HTTP/1.1 request this fake understands."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A received request; header names are lower-case, ``path`` has no query string."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """The next request on the connection, or None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("connection closed inside the request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await _read_body(reader, headers)
    path, _, query = parts[1].partition("?")
    return HttpRequest(parts[0].upper(), path, query, headers, body)


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are expected
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
            if len(body) > _MAX_BODY:
                raise BadRequest("request body too large")
    try:
        length = int(headers.get("content-length", "0") or "0")
    except ValueError:
        raise BadRequest("bad content-length") from None
    if length > _MAX_BODY:
        raise BadRequest("request body too large")
    return await reader.readexactly(length) if length else b""


class Conn:
    """The server side of one connection, with the write primitives faults are made of."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.chunked = False
        self.closed = False
        # drain() then waits until every byte is handed to the kernel: partial writes are real.
        writer.transport.set_write_buffer_limits(0)

    async def head(self, status: int, headers: Mapping[str, str], *, length: int | None) -> None:
        """Send the status line and headers; chunked framing unless ``length`` is given."""
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Site Overloaded" if status == 529 else "Unknown"
        lines = [f"HTTP/1.1 {status} {phrase}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.chunked = length is None
        lines.append("transfer-encoding: chunked" if self.chunked else f"content-length: {length}")
        await self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def frame(self, data: bytes) -> None:
        """Send ``data`` as one chunk (chunked) or as raw body bytes."""
        if not data:
            return
        await self.raw(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    async def end(self) -> None:
        """Finish a chunked body cleanly (the connection stays usable)."""
        if self.chunked:
            await self.raw(b"0\r\n\r\n")

    async def raw(self, data: bytes) -> None:
        """Write bytes and wait until the kernel has them."""
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        """Close with a FIN after what was written (a cut body when it was unfinished)."""
        if not self.closed:
            self.closed = True
            self.writer.close()

    def reset(self) -> None:
        """Abort with a TCP RST: SO_LINGER 0, then close without flushing."""
        if self.closed:
            return
        self.closed = True
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # the peer is gone already: just abort
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def wait_gone(self, limit_s: float) -> None:
        """Wait until the client disconnects, the connection is aborted or ``limit_s`` passes."""
        try:
            async with asyncio.timeout(limit_s):
                while await self.reader.read(65536):
                    pass
        except (TimeoutError, ConnectionError):
            pass
