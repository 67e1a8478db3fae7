"""The Ollama native transport: ``POST /api/chat`` with an NDJSON stream turned into OpenAI
chunks, and ``GET /api/tags`` as the health check (is the configured model pulled?).

The native API matters because tool calling through Ollama's ``/v1`` breaks (OpenClaw's docs
warn about it). Source: Ollama ``docs/api.md`` ("Generate a chat completion", "List Local
Models", "Errors": a non-2xx reply carries ``{"error": "..."}``, for example 404 ``model "x" not
found, try pulling it first``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext

import httpx

from .._model import Profile, Provider
from .._ports import MalformedEvent, TransportFailure, UpstreamCall, UpstreamReply
from ._framing import body_lines
from ._translate_common import TranslationError
from ._translate_ollama import (
    OllamaStreamError,
    OllamaStreamState,
    ollama_line_chunks,
    ollama_request,
    tags_model_names,
)
from ._wire import (
    ChunkOrMalformed,
    HttpExchange,
    LocalReply,
    get_json,
    parse_json_object,
    request_timeout,
    sendable_key,
)

DEFAULT_BASE_URL = "http://127.0.0.1:11434"

#: ``TransportFailure.kind`` for an ``{"error": ...}`` line inside a 200 stream.
STREAM_ERROR_KIND = "UpstreamStreamError"
#: ``TransportFailure.kind`` for a 200 stream whose body ended before its ``done: true`` line:
#: a cut, classified as httpx's own "peer closed connection" is.
INCOMPLETE_STREAM_KIND = "RemoteProtocolError"


def native_base(base_url: str) -> str:
    """The server root for a base URL given with or without OpenAI's ``/v1`` suffix."""
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return base.removesuffix("/v1")


def has_model(configured: str, pulled: Iterable[str]) -> bool:
    """Whether ``configured`` is in ``pulled``; a name without a tag means ``:latest``."""
    wanted = _tagged(configured)
    return any(_tagged(name) == wanted for name in pulled)


def _tagged(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _headers(provider: Provider, profile: Profile | None, extra: dict[str, str]) -> dict[str, str]:
    headers = {**provider.headers, **extra, "content-type": "application/json"}
    key = sendable_key(profile)
    if key is not None:  # a remote Ollama behind an authenticating proxy
        headers["authorization"] = f"Bearer {key}"
    return headers


class OllamaTransport:
    """A :class:`Transport` for ``api: "ollama"`` over a shared httpx client.

    ``keep_alive`` is sent with every request unless the body has its own ``keep_alive``.
    """

    def __init__(self, client: httpx.AsyncClient, *, keep_alive: str | int | None = None) -> None:
        self._client = client
        self._keep_alive = keep_alive

    def send(self, call: UpstreamCall) -> AbstractAsyncContextManager[UpstreamReply]:
        """Open the NDJSON stream; a request Ollama cannot express is answered 400 locally."""
        try:
            body = ollama_request(
                call.body, model=call.candidate.model, keep_alive=self._keep_alive
            )
        except TranslationError as exc:
            return nullcontext(LocalReply(400, exc.as_error_body()))
        request = self._client.build_request(
            "POST",
            native_base(call.provider.base_url) + "/api/chat",
            json=body,
            headers=_headers(call.provider, call.profile, dict(call.headers)),
            timeout=request_timeout(call.provider),
        )
        return HttpExchange(self._client, request, _decode, call.profile)

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """The pulled model names from ``GET /api/tags``."""
        url = native_base(provider.base_url) + "/api/tags"
        headers = _headers(provider, profile, {})
        tags = await get_json(self._client, url, headers=headers, provider=provider)
        return tags_model_names(tags)


async def _decode(response: httpx.Response) -> AsyncIterator[ChunkOrMalformed]:
    state = OllamaStreamState()
    async for raw in body_lines(response.aiter_bytes()):
        if not raw.strip():
            continue
        line = parse_json_object(raw)
        if isinstance(line, MalformedEvent):
            yield line
            continue
        try:
            chunks = ollama_line_chunks(state, line)
        except OllamaStreamError as exc:
            raise TransportFailure(kind=STREAM_ERROR_KIND, detail=str(exc)[:200]) from exc
        for chunk in chunks:
            yield chunk
    if state.started and not state.finished:
        # Every reply ends with a ``done: true`` line (its done_reason and counts). A body that
        # ends before it was cut mid-answer: passing it on would make a truncated answer look
        # whole, so it is a failure (before the first token, one to fail over from).
        raise TransportFailure(kind=INCOMPLETE_STREAM_KIND, detail="the stream ended before done")
