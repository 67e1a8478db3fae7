"""The OpenAI-compatible chat-completions transport (OpenAI, OpenRouter, Groq, Mistral, vLLM,
llama.cpp, Ollama's ``/v1``): always streams, and turns whatever comes back into chunks.

The request always asks for ``stream: true`` with ``stream_options.include_usage``; an upstream
that answers a plain JSON ``chat.completion`` anyway is converted to chunks. httpx errors are
translated once, in ``_wire`` (``TransportFailure.kind`` = the httpx class name).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from .._model import Profile, Provider
from .._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from ._wire import (
    ChunkOrMalformed,
    HttpReply,
    body_lines,
    drain,
    open_stream,
    parse_json_object,
    redact,
    sse_events,
    transport_failure,
)

__all__ = ["STREAM_ERROR_KIND", "OpenAICompatTransport", "completion_chunks"]

#: ``TransportFailure.kind`` for an ``error`` object inside a 200 stream (OpenRouter sends
#: these mid-stream; OpenRouter "Errors" doc, "Streaming errors").
STREAM_ERROR_KIND = "UpstreamStreamError"
_CONNECT_TIMEOUT_S = 15.0
#: Profile sources that are references or placeholders, never a key to send (design: "Keys").
_NOT_A_KEY = frozenset({"dummy"})


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
    headers = {**provider.headers, **extra}
    headers["content-type"] = "application/json"
    headers["accept"] = "text/event-stream"
    if profile is not None and profile.secret is not None and profile.source not in _NOT_A_KEY:
        headers["authorization"] = f"Bearer {profile.secret.reveal()}"
    return headers


def _timeout(provider: Provider) -> httpx.Timeout:
    """The engine owns first-token and idle deadlines; httpx only bounds the connect, unless
    the provider sets ``timeoutSeconds``."""
    return _timeout_of(provider.timeout_s)


@functools.lru_cache(maxsize=64)
def _timeout_of(timeout_s: float | None) -> httpx.Timeout:
    if timeout_s:
        return httpx.Timeout(timeout_s)
    return httpx.Timeout(None, connect=_CONNECT_TIMEOUT_S)


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

    @asynccontextmanager
    async def send(self, call: UpstreamCall) -> AsyncIterator[UpstreamReply]:
        """Open the request; entering returns once headers arrived."""
        request = self._client.build_request(
            "POST",
            _chat_url(call.provider.base_url),
            content=request_body(call),
            headers=_headers(call.provider, call.profile, call.headers),
            timeout=_timeout(call.provider),
        )
        profile = call.profile
        decode = functools.partial(_decode, profile=profile)  # no extra generator per chunk
        async with open_stream(self._client, request) as response:
            yield HttpReply(response, decode, profile=profile)

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
    lines = body_lines(response.aiter_bytes())
    async for event in sse_events(lines):
        data = event.data.strip()
        if data == "[DONE]":
            await drain(lines)
            return
        if not data:
            continue
        item = parse_json_object(data)
        if isinstance(item, dict):
            _raise_if_error(item, profile)
        yield item


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
