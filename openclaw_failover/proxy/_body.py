"""Reading a request body under a size limit: refused from Content-Length, or while reading."""

from __future__ import annotations

from starlette.types import Receive

from ._wire_errors import WireError, openai_error


class BodyTooLarge(Exception):
    """The body exceeds the limit; ``error`` is the 413 to send (the connection is closed)."""

    def __init__(self, limit: int, found: str) -> None:
        self.error = too_large_error(limit, found)
        super().__init__(found)


class ClientGone(Exception):
    """The client disconnected before its body arrived whole."""


def too_large_error(limit: int, found: str) -> WireError:
    """The 413 response for a body over ``limit`` bytes."""
    return openai_error(
        413,
        f"the request body: found {found}; expected at most {limit} bytes (proxy.maxBodyBytes)",
        code="request_too_large",
        headers=(("connection", "close"),),
    )


def body_timeout_error(timeout_s: float) -> WireError:
    """The 408 for a body that did not arrive whole within ``timeout_s``."""
    return openai_error(
        408,
        f"the request body: not received whole within {timeout_s:g} s; expected the client "
        "to send its declared body",
        code="request_timeout",
        headers=(("connection", "close"),),
    )


async def read_body(receive: Receive, *, limit: int, declared: int | None) -> bytes:
    """Read the whole body, refusing it before reading when Content-Length is over ``limit``
    and as soon as the bytes read pass ``limit`` otherwise (chunked uploads)."""
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit, f"Content-Length {declared}")
    first = await receive()
    if first["type"] == "http.disconnect":
        raise ClientGone
    body: bytes = first.get("body", b"")
    if not first.get("more_body", False):
        if len(body) > limit:
            raise BodyTooLarge(limit, f"{len(body)} bytes")
        return body
    parts = [body]
    size = len(body)
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit, f"more than {limit} bytes")
        parts.append(chunk)
        more = message.get("more_body", False)
    return b"".join(parts)
