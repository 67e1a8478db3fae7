"""What every HTTP adapter shares: the httpx seam, JSON parsing, the exchange and reply objects.
The stream framing (lines, SSE) is :mod:`._framing`'s.

Foreign exceptions are translated here, once, into :class:`TransportFailure` (its ``kind`` is the
httpx class name, which the classifier maps to a reason). The adapters only translate payloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

import httpx
import orjson

from .._model import Profile, Provider
from .._ports import MalformedEvent, TransportFailure
from ._http1 import PooledHTTP1Transport
from ._http1_conn import Origin

Chunk = dict[str, Any]
ChunkOrMalformed = Chunk | MalformedEvent

CONNECT_TIMEOUT_S = 15.0
#: How long the rest of a body (the chunked terminator after ``[DONE]``) may take to arrive.
DRAIN_S = 1.0
#: Profile sources that are placeholders (``apiKey: "ollama-local"``), never a key to send.
PLACEHOLDER_SOURCES = frozenset({"dummy"})


def request_timeout(provider: Provider) -> httpx.Timeout:
    """The engine owns the first-token and idle deadlines, so httpx bounds only the connect,
    unless the provider sets ``timeoutSeconds``."""
    if provider.timeout_s:
        return httpx.Timeout(provider.timeout_s)
    return httpx.Timeout(None, connect=CONNECT_TIMEOUT_S)


def sendable_key(profile: Profile | None) -> str | None:
    """The key to put on the wire, or None (no profile, unresolved, or a placeholder)."""
    if profile is None or profile.secret is None or profile.source in PLACEHOLDER_SOURCES:
        return None
    return profile.secret.reveal() or None


def transport_failure(exc: httpx.HTTPError) -> TransportFailure:
    """The one translation of an httpx error: ``kind`` is its class name, never a secret
    (a status error says only its status, not the URL)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return TransportFailure(kind=type(exc).__name__, detail=f"HTTP {exc.response.status_code}")
    return TransportFailure(kind=type(exc).__name__, detail=str(exc)[:200])


async def get_json(
    client: httpx.AsyncClient, url: str, *, headers: Mapping[str, str], provider: Provider
) -> dict[str, Any]:
    """GET a JSON object (a model list); any failure is a :class:`TransportFailure`."""
    try:
        response = await client.get(url, headers=headers, timeout=request_timeout(provider))
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise transport_failure(exc) from exc
    data = parse_json_object(response.text)
    if isinstance(data, MalformedEvent):
        raise TransportFailure(kind="DecodingError", detail="the reply is not a JSON object")
    return data


async def drain(rest: AsyncIterator[Any]) -> None:
    """Read what is left of a body after its end marker, so httpx returns the connection to
    the pool instead of closing it (a closed one costs a new TCP, or TLS, handshake on the
    next request). An upstream that stalls or fails here only loses its connection."""
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(DRAIN_S):
            async for _ in rest:
                pass


async def finish_body(response: ResponseLike, rest: AsyncIterator[bytes]) -> None:
    """:func:`drain` ``rest``, ``response``'s body after its end marker; without a deadline
    when the pooled transport says the rest is already here (the usual case: the chunked
    terminator arrives with ``[DONE]``), so reading it cannot wait."""
    settled = getattr(getattr(response, "stream", None), "settled", None)
    if settled is None or not settled():
        await drain(rest)
        return
    with contextlib.suppress(httpx.HTTPError):
        async for _ in rest:
            pass


def parse_json_object(text: str) -> dict[str, Any] | MalformedEvent:
    """A JSON object, or a :class:`MalformedEvent` carrying a short excerpt of the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return MalformedEvent(excerpt=text[:200])
    if not isinstance(value, dict):
        return MalformedEvent(excerpt=text[:200])
    return value


def parse_json_bytes(data: bytes) -> dict[str, Any] | MalformedEvent:
    """:func:`parse_json_object` for undecoded bytes: orjson first (several times faster),
    and what orjson refuses (invalid UTF-8, NaN, lone surrogates) the stdlib's way, so both
    give the same answer. One difference is kept: orjson reads an integer past 64 bits as a
    float, where ``json`` keeps it whole. The proxy writes its answers with orjson, which
    cannot write such an integer at all, so the float is what lets that answer through."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return parse_json_object(data.decode("utf-8", "replace"))
    if not isinstance(value, dict):
        return MalformedEvent(excerpt=data.decode("utf-8", "replace")[:200])
    return value


def redact(text: str, profile: Profile | None) -> str:
    """The text with the profile's key replaced, in case an upstream echoes it back."""
    if profile is None or profile.secret is None:
        return text
    secret = profile.secret.reveal()
    return text.replace(secret, "***") if secret else text


class ResponseLike(Protocol):
    """What an adapter reads of a streamed response: ``httpx.Response``, or the pooled
    transport's own :class:`~openclaw_failover.providers._http1.PooledResponse`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def aread(self) -> bytes: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


#: An adapter's decoder: the response's chunks (each adapter types its own response).
Decode = Callable[[Any], AsyncIterator[ChunkOrMalformed]]


class HttpReply:
    """An :class:`UpstreamReply` over an open response; ``decode`` turns it into chunks."""

    def __init__(
        self, response: ResponseLike, decode: Decode, *, profile: Profile | None = None
    ) -> None:
        self._response = response
        self._decode = decode
        self._profile = profile

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers (lower-case names)."""
        return self._response.headers

    async def error_excerpt(self, limit: int = 4096) -> str:
        """Up to ``limit`` characters of the body, with the key redacted."""
        try:
            body = await self._response.aread()
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc
        return redact(body.decode("utf-8", "replace")[:limit], self._profile)

    async def chunks(self) -> AsyncIterator[ChunkOrMalformed]:
        """OpenAI ``chat.completion.chunk`` dicts, translated by the adapter's ``decode``."""
        try:
            async for item in self._decode(self._response):
                yield item
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc


class LocalReply:
    """A reply made up without a request: a request the adapter cannot translate is a 400."""

    def __init__(self, status: int, body: str) -> None:
        self._status = status
        self._body = body

    @property
    def status(self) -> int:
        """The made-up status."""
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        """No headers."""
        return {}

    async def error_excerpt(self, limit: int = 4096) -> str:
        """The made-up body."""
        return self._body[:limit]

    async def chunks(self) -> AsyncIterator[ChunkOrMalformed]:
        """Nothing: a local reply is never a success."""
        empty: tuple[ChunkOrMalformed, ...] = ()
        for item in empty:
            yield item


class _Exchange:
    """What an adapter's ``send`` returns: entering sends the request and gives its
    :class:`HttpReply` once the headers arrived; leaving closes the body. Errors below HTTP
    become ``TransportFailure``. A class rather than a generator-based context manager, so an
    upstream call costs no generator; subclasses say how the request is sent."""

    __slots__ = ("_decode", "_profile", "_response")

    def __init__(self, decode: Decode, profile: Profile | None) -> None:
        self._decode = decode
        self._profile = profile
        self._response: ResponseLike | None = None

    async def _open(self) -> ResponseLike:
        raise NotImplementedError

    async def __aenter__(self) -> HttpReply:
        try:
            response = await self._open()
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc
        self._response = response
        return self._reply(response)

    def _reply(self, response: ResponseLike) -> HttpReply:
        return HttpReply(response, self._decode, profile=self._profile)

    async def __aexit__(self, *exc_info: object) -> None:
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()


class HttpExchange(_Exchange):
    """An exchange through an httpx client, with a streamed response body."""

    __slots__ = ("_client", "_request")

    def __init__(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        decode: Decode,
        profile: Profile | None,
    ) -> None:
        super().__init__(decode, profile)
        self._client = client
        self._request = request

    async def _open(self) -> ResponseLike:
        return await self._client.send(self._request, stream=True)


class PooledExchange(_Exchange):
    """An exchange straight on the pooled HTTP/1.1 transport, for a request already in
    bytes: no httpx request or response objects on the way. Its ``decode`` is given the
    :class:`~openclaw_failover.providers._http1.PooledResponse` and translates httpx errors
    into ``TransportFailure`` itself, so its chunks are passed on unwrapped."""

    __slots__ = ("_data", "_origin", "_pool", "_timeouts")

    def __init__(
        self,
        pool: PooledHTTP1Transport,
        target: tuple[Origin, Mapping[str, float | None]],
        data: bytes,
        decode: Decode,
        profile: Profile | None,
    ) -> None:
        super().__init__(decode, profile)
        self._pool = pool
        self._origin, self._timeouts = target
        self._data = data

    async def _open(self) -> ResponseLike:
        return await self._pool.open(self._origin, self._data, self._timeouts)

    def _reply(self, response: ResponseLike) -> HttpReply:
        return _DirectReply(response, self._decode, profile=self._profile)


class _DirectReply(HttpReply):
    """A reply whose decoder translates its own errors: its chunks are the decoder's."""

    def chunks(self) -> AsyncIterator[ChunkOrMalformed]:
        """The decoder's chunks, unwrapped (one async generator fewer per chunk)."""
        return self._decode(self._response)


class RefusedExchange:
    """An exchange that fails on entering, before anything is sent (a request that cannot
    go on the wire as it is)."""

    __slots__ = ("_failure",)

    def __init__(self, failure: TransportFailure) -> None:
        self._failure = failure

    async def __aenter__(self) -> HttpReply:
        raise self._failure

    async def __aexit__(self, *exc_info: object) -> None:
        return None
