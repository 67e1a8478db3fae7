"""The Anthropic Messages transport: ``POST /v1/messages`` with ``x-api-key`` and
``anthropic-version``, its SSE stream turned into OpenAI chunks.

Source: Anthropic API reference, "Versions" (the ``anthropic-version`` header), "Messages",
"Streaming Messages", "Models" (``GET /v1/models``) and "Errors".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import httpx

from .._model import Profile, Provider
from .._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from ._framing import body_lines, sse_events
from ._translate_anthropic import anthropic_request
from ._translate_anthropic_stream import (
    AnthropicStreamError,
    AnthropicStreamState,
    anthropic_event_chunks,
    finish_chunks,
    message_chunks,
)
from ._translate_common import TranslationError
from ._wire import (
    ChunkOrMalformed,
    HttpExchange,
    LocalReply,
    get_json,
    parse_json_object,
    request_timeout,
    sendable_key,
)

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"

#: ``TransportFailure.kind`` for an ``error`` event inside a 200 stream; ``detail`` starts with
#: Anthropic's error type (``overloaded_error: ...``), which the classifier reads.
STREAM_ERROR_KIND = "UpstreamStreamError"
#: ``TransportFailure.kind`` for a 200 stream whose body ended before the message did (no
#: ``message_delta`` with its ``stop_reason``, no ``message_stop``): a cut, classified as
#: httpx's own "peer closed connection without sending complete message body" is.
INCOMPLETE_STREAM_KIND = "RemoteProtocolError"


def messages_url(base_url: str) -> str:
    """The Messages endpoint for a base URL given with or without its ``/v1``."""
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def request_headers(
    provider: Provider, profile: Profile | None, extra: Mapping[str, str]
) -> dict[str, str]:
    """Provider headers, the caller's pass-through headers, then the auth and version headers.

    Names are lower-cased first: header names are case-insensitive, and a configured
    ``Anthropic-Version`` or ``X-Api-Key`` kept beside ours would go out as a second header
    (the rotated key and a stale one both sent).
    """
    headers = {name.lower(): value for name, value in {**provider.headers, **extra}.items()}
    headers["anthropic-version"] = headers.get("anthropic-version", ANTHROPIC_VERSION)
    headers["content-type"] = "application/json"
    headers["accept"] = "text/event-stream"
    key = sendable_key(profile)
    if key is not None:
        headers["x-api-key"] = key
    return headers


class AnthropicTransport:
    """A :class:`Transport` for ``api: "anthropic-messages"`` over a shared httpx client."""

    def __init__(self, client: httpx.AsyncClient, *, default_max_tokens: int = 4096) -> None:
        self._client = client
        self._default_max_tokens = default_max_tokens

    def send(self, call: UpstreamCall) -> AbstractAsyncContextManager[UpstreamReply]:
        """Open the stream; a request that cannot be expressed in Anthropic's shape is a 400."""
        spec = call.provider.models.get(call.candidate.model)
        default = spec.max_tokens if spec and spec.max_tokens else self._default_max_tokens
        try:
            body = anthropic_request(
                call.body, model=call.candidate.model, default_max_tokens=default
            )
        except TranslationError as exc:
            return nullcontext(LocalReply(400, exc.as_error_body()))
        request = self._client.build_request(
            "POST",
            messages_url(call.provider.base_url),
            json=body,
            headers=request_headers(call.provider, call.profile, call.headers),
            timeout=request_timeout(call.provider),
        )
        return HttpExchange(self._client, request, _decode, call.profile)

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """Model ids from ``GET /v1/models``."""
        url = messages_url(provider.base_url).removesuffix("/messages") + "/models"
        headers = request_headers(provider, profile, {})
        headers["accept"] = "application/json"
        reply = await get_json(self._client, url, headers=headers, provider=provider)
        data = reply.get("data") or []
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]


async def _decode(response: httpx.Response) -> AsyncIterator[ChunkOrMalformed]:
    state = AnthropicStreamState()
    if response.headers.get("content-type", "").startswith("application/json"):
        message = parse_json_object((await response.aread()).decode("utf-8", "replace"))
        if isinstance(message, MalformedEvent):
            yield message
            return
        for chunk in _message_chunks(state, message):
            yield chunk
        return
    async for event in sse_events(body_lines(response.aiter_bytes())):
        data = parse_json_object(event.data)
        if isinstance(data, MalformedEvent):
            yield data
            continue
        for item in _event_chunks(state, event.event, data):
            yield item
    if state.started and not state.finished and state.stop_reason is None:
        # "Streaming Messages": every message ends with message_delta and message_stop. A body
        # that ends before both was cut (a proxy or balancer closing cleanly mid-answer);
        # finishing it as "stop" would pass a truncated answer off as a whole one.
        raise TransportFailure(
            kind=INCOMPLETE_STREAM_KIND, detail="the stream ended before message_delta"
        )
    for chunk in finish_chunks(state):
        yield chunk


def _event_chunks(
    state: AnthropicStreamState, name: str, data: dict[str, Any]
) -> list[ChunkOrMalformed]:
    try:
        return list(anthropic_event_chunks(state, name, data))
    except AnthropicStreamError as exc:
        raise TransportFailure(kind=STREAM_ERROR_KIND, detail=str(exc)[:200]) from exc
    except (TypeError, ValueError, AttributeError):
        # A field of the wrong type (an index that is no number, a delta that is no object)
        # makes the event as unreadable as broken JSON: skipped and audited, not fatal.
        return [MalformedEvent(excerpt=json.dumps(data)[:200])]


def _message_chunks(state: AnthropicStreamState, message: dict[str, Any]) -> list[ChunkOrMalformed]:
    """A whole JSON reply's chunks; an error object there fails like an ``error`` event."""
    if message.get("type") == "error":
        return _event_chunks(state, "error", message)
    try:
        return list(message_chunks(state, message))
    except (TypeError, ValueError, AttributeError):
        return [MalformedEvent(excerpt=json.dumps(message)[:200])]
