"""A minimal, fast OpenAI-compatible upstream for the proxy benchmark (uvloop + httptools).

The project's ``FakeProviderServer`` plays every fault a test needs, but it parses in Python
and records each request, so alone it manages a few thousand requests a second: too slow to be
a fair baseline for a proxy that should add well under a millisecond. This one answers from
prebuilt bytes. Run as a process:

    python benchmarks/_fast_fake.py [--port 0]

It prints ``{"port": N}`` and serves until SIGTERM. The first path segment picks what a chat
request gets (``/v1/chat/completions`` is ``ok``); anything after a ``-`` only names a counter:

- ``/ok[-x]/v1/...``: a JSON ``chat.completion``, or an SSE stream when the body asks for one;
- ``/gap[-x]/v1/...``: like ``ok``, but a stream pauses 20 ms after its first content chunk,
  so time to first token is apart from the whole answer;
- ``/500[-x]/v1/...`` and ``/429[-x]/v1/...`` (``retry-after: 1``): an OpenAI error;
- ``/silent[-x]/v1/...``: nothing at all, until the client goes away.

``GET /_stats`` returns, per prefix, the monotonic arrival and reply times of its requests
(``time.monotonic`` is the system-wide ``CLOCK_MONOTONIC``, so the benchmark can compare them
with its own clock); ``POST /_reset`` forgets them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import time
from collections import defaultdict
from typing import Any, cast

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    uvloop = None

_CREATED = 1_700_000_000
_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": _CREATED,
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the fake."},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    },
    separators=(",", ":"),
).encode()


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if delta else [],
        **extra,
    }
    data = b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n"
)
_STREAM_FIRST = _chunk({"role": "assistant", "content": "Hello"})
_DONE = b"data: [DONE]\n\n"
_STREAM_REST = (
    _chunk({"content": " from the fake."})
    + _chunk({"content": ""}, finish="stop")
    + _chunk({}, usage={"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10})
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(_DONE), _DONE)
)


def _response(status: str, body: bytes, *extra: bytes) -> bytes:
    head = [f"HTTP/1.1 {status}".encode(), b"content-type: application/json"]
    head += [*extra, b"content-length: %d" % len(body)]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _error(status: int, message: str, type_: str) -> bytes:
    body = json.dumps({"error": {"message": message, "type": type_, "code": None}}).encode()
    phrase = {500: "Internal Server Error", 429: "Too Many Requests"}[status]
    extra = (b"retry-after: 1",) if status == 429 else ()
    return _response(f"{status} {phrase}", body, *extra)


_OK = _response("200 OK", _COMPLETION)
_CANNED = {
    "500": _error(500, "The server had an error while processing your request.", "server_error"),
    "429": _error(429, "Rate limit reached for requests. Please try again in 1s.", "requests"),
}
_MODELS = _response("200 OK", b'{"object":"list","data":[{"id":"fake","object":"model"}]}')
_NOT_FOUND = _response("404 Not Found", b'{"error":{"message":"no such path"}}')
_STREAM_GAP_S = 0.02


class Stats:
    """Arrival and reply times per prefix."""

    def __init__(self) -> None:
        self.arrived: defaultdict[str, list[float]] = defaultdict(list)
        self.replied: defaultdict[str, list[float]] = defaultdict(list)

    def json(self) -> bytes:
        prefixes = sorted(set(self.arrived) | set(self.replied))
        return json.dumps(
            {p: {"arrived": self.arrived[p], "replied": self.replied[p]} for p in prefixes}
        ).encode()


STATS = Stats()


class FakeProtocol(asyncio.Protocol):
    """One connection: parse with httptools, answer from prebuilt bytes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        path = self.url.split(b"?", 1)[0].decode("latin-1")
        if path.endswith("/chat/completions"):
            self._chat(transport, path)
        elif path.endswith("/models"):
            transport.write(_MODELS)
        elif path == "/_stats":
            transport.write(_response("200 OK", STATS.json()))
        elif path == "/_reset":
            STATS.arrived.clear()
            STATS.replied.clear()
            transport.write(_response("200 OK", b"{}"))
        else:
            transport.write(_NOT_FOUND)
        if not self.parser.should_keep_alive():
            transport.close()

    def _chat(self, transport: asyncio.Transport, path: str) -> None:
        segments = path.split("/")
        prefix = segments[1] if len(segments) > 4 else "ok"
        mode = prefix.split("-", 1)[0]
        now = time.monotonic()
        if prefix != "ok":
            STATS.arrived[prefix].append(now)
        if mode == "silent":
            return
        canned = _CANNED.get(mode)
        if canned is not None:
            transport.write(canned)
        elif b'"stream":true' in b"".join(self.body).replace(b" ", b""):
            self._stream(transport, gap=mode == "gap")
        else:
            transport.write(_OK)
        if prefix != "ok":
            STATS.replied[prefix].append(time.monotonic())

    def _stream(self, transport: asyncio.Transport, *, gap: bool) -> None:
        if not gap:
            transport.write(_STREAM_HEAD + _STREAM_FIRST + _STREAM_REST)
            return
        transport.write(_STREAM_HEAD + _STREAM_FIRST)
        asyncio.get_running_loop().call_later(_STREAM_GAP_S, _write_rest, transport)


def _write_rest(transport: asyncio.Transport) -> None:
    if not transport.is_closing():
        transport.write(_STREAM_REST)


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FakeProtocol, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": bound}), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    """Parse ``--port`` and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if uvloop is not None:
        uvloop.run(_serve(args.port))
    else:  # pragma: no cover
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
