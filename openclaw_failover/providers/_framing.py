"""Stream framing: a streamed body's bytes into lines (the SSE and NDJSON line ends) and
server-sent events, either as :class:`SseEvent` values (:func:`sse_events` over
:func:`body_lines`) or as raw ``data`` bytes (:class:`SseData`, the OpenAI adapter's hot path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event: its ``event:`` name (may be empty) and joined ``data:`` lines."""

    event: str
    data: str


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[SseEvent]:
    """Frame SSE lines into events (WHATWG HTML, "Server-sent events", parsing rules).

    Comments (``:``) are skipped; ``id`` and ``retry`` fields are ignored; an event ends at a
    blank line, and a final event without its blank line is still delivered. A byte order
    mark opening the stream is dropped.
    """
    name, data, first = "", list[str](), True
    async for raw in lines:
        line = raw.rstrip("\r")
        if first:
            line, first = line.removeprefix("\ufeff"), False
        if not line:
            if data:
                yield SseEvent(name, "\n".join(data))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
    if data:
        yield SseEvent(name, "\n".join(data))


async def body_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The lines of a streamed body, split at CR, LF or CRLF (the SSE and NDJSON line ends, a
    CRLF split across two chunks included) and decoded as UTF-8; a last line without its end
    is still delivered. Splitting bytes in C is cheaper than httpx's text line decoder. A line
    ending in CR is given with its chunk (:func:`_split_lines`)."""
    pending = b""
    async for chunk in chunks:
        lines, pending = _split_lines(pending, chunk)
        for line in lines:
            yield line.rstrip(b"\r\n").decode("utf-8", "replace")
    if pending and pending != _AFTER_CR:
        yield pending.rstrip(b"\r\n").decode("utf-8", "replace")


#: What :func:`_split_lines` keeps after a chunk that ended in CR: that line was given already,
#: and a LF opening the next chunk is the rest of its line end (a CRLF split across two
#: chunks). No line kept back is ever this, as one ending in CR is never kept back.
_AFTER_CR = b"\r"


def _split_lines(pending: bytes, chunk: bytes) -> tuple[list[bytes], bytes]:
    """The whole lines (with their ends) of ``pending``, what the last call kept, followed by
    ``chunk``; and what to keep for the next call: a last line without its end, or
    :data:`_AFTER_CR`. A line ending in CR is given at once, not held for a LF that may follow:
    with CR-only line ends that would hold each chunk's last line until the next chunk."""
    if not chunk:
        return [], pending
    if pending == _AFTER_CR:
        pending = b""
        if chunk.startswith(b"\n"):
            chunk = chunk[1:]
    lines = (pending + chunk if pending else chunk).splitlines(keepends=True)
    if not lines or lines[-1].endswith(b"\n"):
        return lines, b""
    if lines[-1].endswith(b"\r"):
        return lines, _AFTER_CR
    last = lines.pop()
    return lines, last


#: UTF-8's byte order mark, which the SSE parsing rules drop from the start of a stream.
_BOM = b"\xef\xbb\xbf"


class SseData:
    """Server-sent events framed from raw body bytes, without a generator per line: ``feed``
    returns the ``data`` of each event the new bytes complete, ``end`` the last event when the
    body ends without its blank line. The same rules as :func:`sse_events` (CR, LF or CRLF
    line ends, a CRLF split across two chunks included; comments, ``event``, ``id`` and
    ``retry`` fields skipped; a byte order mark opening the stream dropped, and, checked only
    where it costs nothing, one opening a later read's first line too)."""

    __slots__ = ("_data", "_pending")

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """The data of every event completed by ``chunk``."""
        if not self._pending and not self._data and chunk.endswith(b"\n\n"):
            # The usual body: whole ``data: <json>`` events, one line each, LF line ends (each
            # block starts with "data: " and holds no line end but the two that close it).
            blocks = chunk[:-2].split(b"\n\n")
            if (
                chunk.startswith(b"data: ")
                and chunk.count(b"\n\ndata: ") == len(blocks) - 1
                and chunk.count(b"\n") == 2 * len(blocks)
                and b"\r" not in chunk
            ):
                return [block[6:] for block in blocks]
        # (After a read that ended in CR, _pending is _AFTER_CR, which keeps the fast path off.)
        lines, self._pending = _split_lines(self._pending, chunk)
        if lines and lines[0].startswith(_BOM):  # opening the stream (never the fast path's)
            lines[0] = lines[0][3:]
        events: list[bytes] = []
        data = self._data
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            elif line == b"data":  # a field with no colon has an empty value
                data.append(b"")
        return events

    def end(self) -> list[bytes]:
        """The last event, when the body ended without the blank line that closes it."""
        pending, self._pending = self._pending, b""
        events = self.feed(pending + b"\n\n") if pending and pending != _AFTER_CR else []
        if self._data:
            events.append(b"\n".join(self._data))
            self._data.clear()
        return events
