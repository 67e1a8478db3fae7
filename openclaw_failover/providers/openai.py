"""The OpenAI-compatible chat-completions transport (OpenAI, OpenRouter, Groq, Mistral, vLLM,
llama.cpp, Ollama's ``/v1``): always streams, and turns whatever comes back into chunks.

The request always asks for ``stream: true`` with ``stream_options.include_usage``; an upstream
that answers a plain JSON ``chat.completion`` anyway is converted to chunks. httpx errors are
translated once, in ``_wire`` (``TransportFailure.kind`` = the httpx class name).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from .._model import Profile, Provider
from .._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from ._wire import (
    ChunkOrMalformed,
    HttpExchange,
    SseData,
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
_CONNECT_TIMEOUT_S = 15.0
#: Profile sources that are references or placeholders, never a key to send (design: "Keys").
_NOT_A_KEY = frozenset({"dummy"})
#: Headers every chat request carries, whatever a provider's config says.
_LOCAL_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}


def chat_url(base_url: str) -> str:
    """``<base>/chat/completions`` (the base already ends in ``/v1`` or its equivalent)."""
    return base_url.rstrip("/") + "/chat/completions"


@functools.lru_cache(maxsize=1024)
def _chat_url(base_url: str) -> httpx.URL:
    """The parsed chat URL, once per base URL (httpx parses a string URL on every request)."""
    return httpx.URL(chat_url(base_url))


def _headers(
    provider: Provider, profile: Profile | None, extra: Mapping[str, str]
) -> dict[str, str]:
    """The call's own headers, names lower-cased so that ours replace a provider's or a
    caller's spelled another way (never two ``authorization`` headers)."""
    headers = _own_headers(provider)
    headers.update((name.lower(), value) for name, value in extra.items())
    headers.update(_LOCAL_HEADERS)
    if profile is not None and profile.secret is not None and profile.source not in _NOT_A_KEY:
        headers["authorization"] = f"Bearer {profile.secret.reveal()}"
    return headers


def _own_headers(provider: Provider) -> dict[str, str]:
    return {name.lower(): value for name, value in provider.headers.items()}


def _timeout(provider: Provider) -> httpx.Timeout:
    """The engine owns first-token and idle deadlines; httpx only bounds the connect, unless
    the provider sets ``timeoutSeconds``."""
    return _timeout_of(provider.timeout_s)


@functools.lru_cache(maxsize=64)
def _timeout_of(timeout_s: float | None) -> httpx.Timeout:
    if timeout_s:
        return httpx.Timeout(timeout_s)
    return httpx.Timeout(None, connect=_CONNECT_TIMEOUT_S)


@functools.lru_cache(maxsize=64)
def _timeout_dict(timeout_s: float | None) -> dict[str, float | None]:
    """:func:`_timeout` as the request extension httpx's transports read."""
    return _timeout_of(timeout_s).as_dict()


#: How many providers' merged headers a transport keeps (a table has a handful).
_MAX_HEADS = 256


@dataclass(frozen=True, slots=True)
class _Head:
    """A provider's request headers merged with its client's: ``rest`` without any
    ``authorization`` (a key replaces it), ``without_key`` with the provider's own, if any."""

    rest: tuple[tuple[bytes, bytes], ...]
    without_key: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, client: httpx.AsyncClient, provider: Provider) -> _Head:
        merged = httpx.Headers(client.headers)
        merged.update({**_own_headers(provider), **_LOCAL_HEADERS})
        rest = tuple(pair for pair in merged.raw if pair[0].lower() != b"authorization")
        return cls(rest, tuple(merged.raw))


def request_body(call: UpstreamCall) -> bytes:
    """The wire body: the caller's fields, the provider-local model, and a usage-bearing stream."""
    body = dict(call.body)
    body["model"] = call.candidate.model
    body["stream"] = True
    options = body.get("stream_options")
    body["stream_options"] = {
        **(options if isinstance(options, dict) else {}),
        "include_usage": True,
    }
    return orjson.dumps(body)


class OpenAICompatTransport:
    """A :class:`~openclaw_failover._ports.Transport` for ``api: "openai-completions"`` over a
    shared, pooled ``httpx.AsyncClient`` (the caller owns and closes it)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        #: ``id(provider)`` -> (the provider, its headers merged once with the client's). The
        #: entry holds the provider, so no other object can take its id while the entry lives.
        self._heads: dict[int, tuple[Provider, _Head]] = {}

    def send(self, call: UpstreamCall) -> AbstractAsyncContextManager[UpstreamReply]:
        """Open the request; entering returns once headers arrived."""
        provider = call.provider
        request = httpx.Request(
            "POST",
            _chat_url(provider.base_url),
            content=request_body(call),
            headers=self._wire_headers(call),
            extensions={"timeout": _timeout_dict(provider.timeout_s)},
        )
        decode = functools.partial(_decode, profile=call.profile)  # no generator per chunk
        return HttpExchange(self._client, request, decode, call.profile)

    def _wire_headers(self, call: UpstreamCall) -> Sequence[tuple[Any, Any]] | httpx.Headers:
        """The headers ``build_request`` would send for :func:`_headers` (the client's own
        merged with the call's, case-insensitively), without merging the client's and the
        provider's again on every request."""
        provider, profile = call.provider, call.profile
        if call.headers:  # forwarded trace headers: the general merge
            merged = httpx.Headers(self._client.headers)
            merged.update(_headers(provider, profile, call.headers))
            return merged
        entry = self._heads.get(id(provider))
        if entry is None:
            if len(self._heads) >= _MAX_HEADS:  # providers of tables since replaced
                self._heads.clear()
            entry = self._heads[id(provider)] = (provider, _Head.of(self._client, provider))
        head = entry[1]
        if profile is not None and profile.secret is not None and profile.source not in _NOT_A_KEY:
            return [*head.rest, ("authorization", f"Bearer {profile.secret.reveal()}")]
        return head.without_key

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """The ids from ``GET <base>/models``."""
        url = provider.base_url.rstrip("/") + "/models"
        headers = _headers(provider, profile, {})
        headers.pop("content-type", None)
        headers["accept"] = "application/json"
        try:
            response = await self._client.get(url, headers=headers, timeout=_timeout(provider))
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc
        data = parse_json_object(response.text)
        if isinstance(data, MalformedEvent) or not isinstance(data.get("data"), list):
            return []
        return [str(m["id"]) for m in data["data"] if isinstance(m, dict) and "id" in m]


async def _decode(
    response: httpx.Response, profile: Profile | None
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
