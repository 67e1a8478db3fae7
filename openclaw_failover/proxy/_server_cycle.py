"""One request/response exchange of the HTTP server: the app's ``receive``/``send`` and task."""

from __future__ import annotations

import asyncio
import http
import logging
import re
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Scope

log = logging.getLogger("openclaw_failover.proxy")

#: Unconsumed request body above which the connection stops reading from the socket.
BODY_HIGH_WATER = 65536


def _status_line(code: int) -> bytes:
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    return b"HTTP/1.1 %d %s\r\n" % (code, phrase.encode())


#: ``HTTP/1.1 <status> <phrase>\r\n`` for every final status an app may send.
STATUS_LINES = {code: _status_line(code) for code in range(200, 600)}

#: A header name is a token; a value has no control bytes but tab (no CR/LF/NUL: no injection).
_BAD_NAME = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9a-zA-Z]")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def error_reply(status: int, message: str, kind: str) -> bytes:
    """A whole JSON error response that closes the connection (OpenAI's error shape)."""
    body = b'{"error":{"message":"%s","type":"%s"}}' % (message.encode(), kind.encode())
    head = b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
    return STATUS_LINES[status] + head % len(body) + body


INTERNAL_ERROR = error_reply(500, "internal error", "server_error")


def _printable(raw_path: bytes) -> str:
    """The path for a log line as sent (percent-encoded): the decoded ``path`` may hold a
    CR or LF (``%0a``) that would forge log lines."""
    return raw_path.decode("ascii", "backslashreplace")


class CycleOwner(Protocol):
    """What a cycle needs from its connection."""

    transport: asyncio.Transport
    write_paused: bool

    async def drain(self) -> None:
        """Return once the transport takes writes again (or the connection is gone)."""

    def body_consumed(self) -> None:
        """The app took the buffered body: reading may resume."""

    def close(self) -> None:
        """Close the connection (letting a client still sending read what was sent)."""

    def response_done(self, cycle: RequestCycle) -> None:
        """The response went out whole: keep the connection, run the next request or close."""


class RequestCycle:
    """The ASGI side of one request: its body as ``http.request`` messages, its response
    framed onto the connection, and the app's run with the error rules (500 before the
    response started, a closed connection after)."""

    __slots__ = (
        "_chunked",
        "_ended",
        "_event",
        "_expect_100",
        "_head",
        "_no_body",
        "_owner",
        "_parts",
        "_remaining",
        "buffered",
        "disconnected",
        "http10",
        "keep_alive",
        "more_body",
        "peer_done",
        "response_complete",
        "response_started",
        "scope",
    )

    def __init__(
        self, owner: CycleOwner, scope: Scope, *, keep_alive: bool, expect_100: bool
    ) -> None:
        self._owner = owner
        self.scope = scope
        self.keep_alive = keep_alive
        self.http10 = scope["http_version"] == "1.0"
        self._expect_100 = expect_100
        self._parts: list[bytes] = []
        self.buffered = 0
        self.more_body = True
        self._ended = False
        self._event: asyncio.Event | None = None
        self.disconnected = False
        self.peer_done = False
        self.response_started = False
        self.response_complete = False
        self._head = b""
        self._no_body = scope["method"] == "HEAD"
        self._chunked = False
        self._remaining: int | None = None

    # The connection's side.

    def feed(self, body: bytes) -> None:
        """Buffer body bytes from the parser and wake a waiting ``receive``."""
        self._parts.append(body)
        self.buffered += len(body)
        self._wake()

    def end_body(self) -> None:
        """The request body is complete."""
        self.more_body = False
        self._wake()

    def disconnect(self) -> None:
        """The client went away: ``receive`` answers ``http.disconnect``, ``send`` is a no-op."""
        if not self.response_complete:
            self.disconnected = True
            self._wake()

    def peer_closed(self) -> None:
        """The client sent its FIN: an app listening for it hears ``http.disconnect`` once it
        has the body (a client that timed out and closed its socket is gone), while ``send``
        still works (a half-closed client may be reading the answer)."""
        self.peer_done = True
        self._wake()

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()

    # The app's side.

    async def receive(self) -> Message:
        """The next ``http.request`` message; after the whole body, wait for the response
        to complete or the client to leave and answer ``http.disconnect``."""
        if self._expect_100:
            self._send_continue()
        while not (self.disconnected or self.response_complete):
            if self._parts or (not self.more_body and not self._ended):
                return self._take()
            if self.peer_done:
                break
            event = self._event
            if event is None:
                event = self._event = asyncio.Event()
            event.clear()
            await event.wait()
        return {"type": "http.disconnect"}

    def _take(self) -> Message:
        parts = self._parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self._parts = []
        self.buffered = 0
        self._ended = not self.more_body
        self._owner.body_consumed()
        return {"type": "http.request", "body": body, "more_body": self.more_body}

    def _send_continue(self) -> None:
        self._expect_100 = False
        transport = self._owner.transport
        if self.more_body and not self.response_started and not transport.is_closing():
            transport.write(_CONTINUE)

    async def send(self, message: Message) -> None:
        """Frame ``http.response.start`` / ``http.response.body`` onto the connection; the
        head goes out with the first body bytes in one write."""
        owner = self._owner
        if owner.write_paused and not self.disconnected:
            await owner.drain()
        if self.disconnected or owner.transport.is_closing():
            return
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected 'http.response.start', got {kind!r}")
            self._start(message["status"], message.get("headers", ()))
        elif self.response_complete:
            raise RuntimeError(f"unexpected {kind!r}: the response is already complete")
        elif kind != "http.response.body":
            raise RuntimeError(f"expected 'http.response.body', got {kind!r}")
        else:
            self._body(message.get("body", b""), more=message.get("more_body", False))

    def _start(self, status: Any, headers: Any) -> None:
        line = STATUS_LINES.get(status)
        if line is None:
            raise RuntimeError(f"invalid response status {status!r}")
        lines: list[bytes] = [line]
        names: list[bytes] = []
        values: list[bytes] = []
        for raw_name, value in headers:
            name = raw_name.lower()
            if not name:
                raise RuntimeError("empty response header name")
            if name == b"content-length":
                if not value.isdigit():
                    raise RuntimeError(f"invalid response content-length {value!r}")
                self._remaining = int(value)
            elif name == b"transfer-encoding":
                self._chunked = value.lower() == b"chunked"
            elif name == b"connection":  # framed by the server, which writes it once
                if b"close" in value.lower():
                    self.keep_alive = False
                continue
            names.append(name)
            values.append(value)
            lines += (name, b": ", value, b"\r\n")
        if _BAD_NAME.search(b"".join(names)) or _BAD_VALUE.search(b"\t".join(values)):
            raise RuntimeError("invalid response header name or value")
        self._expect_100 = False  # no 100 Continue once the response began
        if self.more_body:  # the body's rest is not drained for a keep-alive: close, lingering
            self.keep_alive = False
        self._no_body = self._no_body or status in (204, 304)
        self.response_started = True
        self._head = b"".join(lines)

    def _frame_head(self, body: bytes, *, more: bool) -> bytes:
        extra = b""
        if self._remaining is None and not self._chunked and not self._no_body:
            if not more:
                self._remaining = len(body)
                extra = b"content-length: %d\r\n" % len(body)
            elif self.http10:
                self.keep_alive = False  # HTTP/1.0 knows no chunks: the close ends the body
            else:
                self._chunked = True
                extra = b"transfer-encoding: chunked\r\n"
        if not self.keep_alive:
            extra += b"connection: close\r\n"
        elif self.http10:
            extra += b"connection: keep-alive\r\n"
        head, self._head = self._head, b""
        return head + extra + b"\r\n"

    def _body(self, body: bytes, *, more: bool) -> None:
        head = self._frame_head(body, more=more) if self._head else b""
        if self._no_body:
            data = head
        elif self._chunked:
            data = b"%s%x\r\n%s\r\n" % (head, len(body), body) if body else head
            if not more:
                data += b"0\r\n\r\n"
        else:
            if self._remaining is not None:
                if len(body) > self._remaining:
                    raise RuntimeError("response body longer than its content-length")
                self._remaining -= len(body)
            data = head + body if head else body
        if data:
            self._owner.transport.write(data)
        if not more:
            if self._remaining and not self._no_body:
                raise RuntimeError("response body shorter than its content-length")
            self.response_complete = True
            self._parts = []  # a body the app never read is dropped, not kept
            self.buffered = 0
            self._wake()
            self._owner.response_done(self)

    async def run(self, app: ASGIApp) -> None:
        """Run the app on this request: a 500 for an error (or no response) before the
        response started, a closed connection for one after."""
        try:
            await app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            self._abandon()
            raise
        except Exception as exc:
            log.error(
                "Exception in ASGI application (%s %s)",
                self.scope["method"],
                _printable(self.scope["raw_path"]),
                exc_info=exc,
            )
            self._fail()
        else:
            if not self.response_complete and self.peer_done:
                self._abandon()  # it stopped for a client that left: close, no 500
            elif not self.response_complete and not self.disconnected:
                log.error(
                    "ASGI application returned without a whole response (%s %s)",
                    self.scope["method"],
                    _printable(self.scope["raw_path"]),
                )
                self._fail()

    def _fail(self) -> None:
        transport = self._owner.transport
        if self.disconnected or transport.is_closing():
            return
        if not self.response_started:
            transport.write(INTERNAL_ERROR)
        self._abandon()

    def _abandon(self) -> None:
        """Close the connection under a response that cannot complete."""
        if not self.response_complete:
            self.response_complete = True
            self.keep_alive = False
            self._wake()
            self._owner.close()
