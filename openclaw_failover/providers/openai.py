"""The OpenAI-compatible chat-completions transport (OpenAI, OpenRouter, Groq, Mistral, vLLM,
llama.cpp, Ollama's ``/v1``): always streams, and turns whatever comes back into chunks.

The request (built in ``_openai_request``) always asks for ``stream: true`` with
``stream_options.include_usage``; an upstream that answers a plain JSON ``chat.completion``
anyway is converted to chunks. httpx errors are
translated once, in ``_wire`` (``TransportFailure.kind`` = the httpx class name).
"""

from __future__ import annotations

import contextlib
import functools
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import orjson

from .._model import Profile, Provider
from .._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from ._framing import SseData
from ._http1 import PooledClient, PooledResponse
from ._openai_request import (
    MAX_HEADS,
    NOT_A_KEY,
    Head,
    Wire,
    headers_for,
    parsed_chat_url,
    request_body,
    timeout_dict,
    timeout_for,
)
from ._wire import (
    ChunkOrMalformed,
    HttpExchange,
    PooledExchange,
    RefusedExchange,
    ResponseLike,
    finish_body,
    parse_json_bytes,
    parse_json_object,
    redact,
    transport_failure,
)

__all__ = ["STREAM_ERROR_KIND", "OpenAICompatTransport", "completion_chunks"]

#: ``TransportFailure.kind`` for an ``error`` object inside a 200 stream (OpenRouter sends
#: these mid-stream; OpenRouter "Errors" doc, "Streaming errors").
STREAM_ERROR_KIND = "UpstreamStreamError"


class OpenAICompatTransport:
    """A :class:`~openclaw_failover._ports.Transport` for ``api: "openai-completions"`` over a
    shared, pooled ``httpx.AsyncClient`` (the caller owns and closes it)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        #: The pooled transport under the proxy's client, written to directly; any other
        #: client (a test's, a caller's) goes through httpx's request and response objects.
        self._pool = client.pool if isinstance(client, PooledClient) else None
        self._wires: dict[int, tuple[Provider, Wire]] = {}
        #: ``id(provider)`` -> (the provider, its headers merged once with the client's). The
        #: entry holds the provider, so no other object can take its id while the entry lives.
        self._heads: dict[int, tuple[Provider, Head]] = {}

    def send(self, call: UpstreamCall) -> AbstractAsyncContextManager[UpstreamReply]:
        """Open the request; entering returns once headers arrived."""
        provider = call.provider
        decode = functools.partial(_decode, profile=call.profile)  # no generator per chunk
        if self._pool is not None:
            try:
                wire = self._wire(provider)
                data = wire.request(call, request_body(call))
            except httpx.LocalProtocolError as exc:  # a line break in a key or a header
                return RefusedExchange(transport_failure(exc))
            pooled = functools.partial(_pooled_chunks, profile=call.profile)
            return PooledExchange(self._pool, wire.target, data, pooled, call.profile)
        request = httpx.Request(
            "POST",
            parsed_chat_url(provider.base_url),
            content=request_body(call),
            headers=self._wire_headers(call),
            extensions={"timeout": timeout_dict(provider.timeout_s)},
        )
        return HttpExchange(self._client, request, decode, call.profile)

    def _wire(self, provider: Provider) -> Wire:
        """The provider's request bytes but the key, built once per provider object."""
        entry = self._wires.get(id(provider))
        if entry is None:
            if len(self._wires) >= MAX_HEADS:  # providers of tables since replaced
                self._wires.clear()
            entry = self._wires[id(provider)] = (provider, Wire.of(self._client, provider))
        return entry[1]

    def _wire_headers(self, call: UpstreamCall) -> Sequence[tuple[Any, Any]] | httpx.Headers:
        """The headers ``build_request`` would send for :func:`headers_for` (the client's own
        merged with the call's, case-insensitively), without merging the client's and the
        provider's again on every request."""
        provider, profile = call.provider, call.profile
        if call.headers:  # forwarded trace headers: the general merge
            merged = httpx.Headers(self._client.headers)
            merged.update(headers_for(provider, profile, call.headers))
            return merged
        entry = self._heads.get(id(provider))
        if entry is None:
            if len(self._heads) >= MAX_HEADS:  # providers of tables since replaced
                self._heads.clear()
            entry = self._heads[id(provider)] = (provider, Head.of(self._client, provider))
        head = entry[1]
        if profile is not None and profile.secret is not None and profile.source not in NOT_A_KEY:
            return [*head.rest, ("authorization", f"Bearer {profile.secret.reveal()}")]
        return head.without_key

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """The ids from ``GET <base>/models``."""
        url = provider.base_url.rstrip("/") + "/models"
        headers = headers_for(provider, profile, {})
        headers.pop("content-type", None)
        headers["accept"] = "application/json"
        try:
            response = await self._client.get(url, headers=headers, timeout=timeout_for(provider))
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc
        data = parse_json_object(response.text)
        if isinstance(data, MalformedEvent) or not isinstance(data.get("data"), list):
            return []
        return [str(m["id"]) for m in data["data"] if isinstance(m, dict) and "id" in m]


async def _decode(
    response: ResponseLike, profile: Profile | None
) -> AsyncIterator[ChunkOrMalformed]:
    content_type = response.headers.get("content-type", "")
    if "json" in content_type and "event-stream" not in content_type:
        raw = await response.aread()
        whole = parse_json_object(raw.decode("utf-8", "replace"))
        if isinstance(whole, MalformedEvent):
            yield whole
            return
        _raise_if_error(whole, profile)
        for chunk in completion_chunks(whole):
            yield chunk
        return
    framer = SseData()
    body = response.aiter_bytes()
    async for raw in body:
        for data in framer.feed(raw):
            if data.strip() == b"[DONE]":
                await finish_body(response, body)
                return
            item = _event(data, profile)
            if item is not None:
                yield item
    for data in framer.end():
        if data.strip() == b"[DONE]":
            return
        item = _event(data, profile)
        if item is not None:
            yield item


def _pooled_chunks(
    response: PooledResponse, profile: Profile | None
) -> AsyncIterator[ChunkOrMalformed]:
    """The chunks of a reply read off the pooled transport, errors already translated: an
    event stream is parsed straight off the connection (:class:`_SseChunks`); anything else
    goes through :func:`_decode`."""
    content_type = response.header(b"content-type")
    if "json" in content_type and "event-stream" not in content_type:
        return _translated(_decode(response, profile))
    return _SseChunks(response, profile)


async def _translated(items: AsyncIterator[ChunkOrMalformed]) -> AsyncIterator[ChunkOrMalformed]:
    try:
        async for item in items:
            yield item
    except httpx.HTTPError as exc:
        raise transport_failure(exc) from exc


class _SseChunks:
    """An event stream's chunks parsed as its bytes come off the pooled connection: one
    iterator instead of a generator per layer (body bytes, SSE framing, decoding, error
    translation). The same rules as :func:`_decode`: an ``error`` object raises, ``[DONE]``
    ends it (what follows is read so the connection goes back to the pool), a body that ends
    without ``[DONE]`` ends it too, a broken connection is a ``TransportFailure``."""

    __slots__ = ("_done", "_error", "_framer", "_items", "_profile", "_response")

    def __init__(self, response: PooledResponse, profile: Profile | None) -> None:
        self._response = response
        self._profile = profile
        self._framer = SseData()
        self._items: deque[ChunkOrMalformed] = deque()
        self._done = False
        #: An ``error`` event, raised once the chunks before it were passed on.
        self._error: TransportFailure | None = None

    def __aiter__(self) -> _SseChunks:
        return self

    def take_ready(self) -> ChunkOrMalformed | None:
        """The next chunk if it is already parsed (no await), else None: then ``anext``
        reads on, or ends the stream, or raises its failure."""
        items = self._items
        return items.popleft() if items else None

    async def __anext__(self) -> ChunkOrMalformed:
        items = self._items
        while not items:
            if self._error is not None:
                raise self._error
            if self._done:
                raise StopAsyncIteration
            try:
                data = self._response.take()
                if data == b"":
                    await self._response.wait()
                    continue
            except httpx.HTTPError as exc:
                raise transport_failure(exc) from exc
            events = self._framer.end() if data is None else self._framer.feed(data)
            self._done = data is None
            if self._parse(events):
                self._done = True
                if self._error is None:  # [DONE]; after an error the connection is dropped
                    await _drain(self._response)
        return items.popleft()

    def _parse(self, events: list[bytes]) -> bool:
        """Queue the events' chunks; True at ``[DONE]`` or an ``error`` event."""
        for data in events:
            if data.strip() == b"[DONE]":
                return True
            try:
                item = _event(data, self._profile)
            except TransportFailure as exc:
                self._error = exc
                return True
            if item is not None:
                self._items.append(item)
        return False


async def _drain(response: PooledResponse) -> None:
    """Read the rest of a body after ``[DONE]`` so the connection goes back to the pool
    (:func:`finish_body`'s rules), unless nothing is left (the usual case: the chunked
    terminator came with it)."""
    with contextlib.suppress(httpx.HTTPError):
        if response.take() is None:
            return
    await finish_body(response, response.aiter_bytes())


def _event(data: bytes, profile: Profile | None) -> ChunkOrMalformed | None:
    """One event's data as a chunk (None for an empty event); an error object raises."""
    data = data.strip()
    if not data:
        return None
    item = parse_json_bytes(data)
    if isinstance(item, dict):
        _raise_if_error(item, profile)
    return item


def _raise_if_error(item: Mapping[str, Any], profile: Profile | None) -> None:
    """An ``error`` object where a chunk should be ends the stream as a failure."""
    if "error" in item and not item.get("choices"):
        detail = redact(orjson.dumps(item).decode()[:500], profile)
        raise TransportFailure(kind=STREAM_ERROR_KIND, detail=detail)


def completion_chunks(completion: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A whole ``chat.completion`` as the chunks a stream would have carried."""
    base = {
        "id": completion.get("id", "chatcmpl-json"),
        "object": "chat.completion.chunk",
        "created": completion.get("created", 0),
        "model": completion.get("model", ""),
    }
    chunks: list[dict[str, Any]] = []
    choices = completion.get("choices")
    for position, choice in enumerate(choices if isinstance(choices, list) else []):
        if not isinstance(choice, dict):
            continue
        found = choice.get("message")
        message: Mapping[str, Any] = found if isinstance(found, dict) else {}
        delta: dict[str, Any] = {"role": message.get("role", "assistant")}
        if message.get("content"):
            delta["content"] = message["content"]
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:
            delta["tool_calls"] = [
                {**call, "index": i} for i, call in enumerate(calls) if isinstance(call, dict)
            ]
        entry = {
            "index": choice.get("index", position),
            "delta": delta,
            "finish_reason": choice.get("finish_reason"),
        }
        chunks.append({**base, "choices": [entry]})
    if isinstance(completion.get("usage"), dict):
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks
