"""One attempt up to its first token: send, wait for the first content or tool-call delta within
the first-token deadline, and return either the opened stream or the failure as a value.

Headers alone or an empty role chunk do not count as the first token (design: "Deadlines per
tier"); a 2xx stream that ends without one is ``empty_response``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Any

from ._classify import classify_outcome, upstream_message
from ._idle import IdleWatch, Watchdog
from ._model import FailureReason, header_credentials
from ._ports import (
    BUDGET_SPENT,
    SLOT_WAIT_TIMEOUT,
    Clock,
    MalformedEvent,
    Transport,
    TransportFailure,
    UpstreamCall,
    UpstreamReply,
)

__all__ = [
    "SILENT_UPSTREAM",
    "Failed",
    "Opened",
    "blameless",
    "close_quietly",
    "has_token",
    "open_upstream",
]

#: The failure kind of an upstream that sent no first token before its deadline.
SILENT_UPSTREAM = "FirstTokenTimeout"

Chunk = dict[str, Any]
#: What makes a delta a first token besides ``content`` (which is tested first, on its own).
_OTHER_TOKEN_FIELDS = frozenset({"tool_calls", "reasoning_content", "reasoning", "refusal"})


def has_token(chunk: Mapping[str, Any]) -> bool:
    """True when a chunk carries content, a tool call, reasoning or a refusal (not just a role)."""
    choices = chunk.get("choices")
    if not choices:
        return False
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict):
            if delta.get("content"):
                return True  # the usual chunk, answered at once
            if _OTHER_TOKEN_FIELDS.isdisjoint(delta):
                continue  # a role chunk, or an empty content: no allocation, no loop
            for field in _OTHER_TOKEN_FIELDS:
                if delta.get(field):
                    return True
    return False


@dataclass(slots=True)
class Opened:
    """An upstream stream that produced its first token; ``head`` holds every chunk so far."""

    context: AbstractAsyncContextManager[UpstreamReply]
    chunks: AsyncIterator[Chunk | MalformedEvent]
    head: list[Chunk]
    ttfb_ms: float
    #: The attempt's silence watch, from here on bounding each wait by the stream-idle limit.
    watch: IdleWatch


@dataclass(frozen=True, slots=True)
class Failed:
    """A failed attempt, as a value: reason, status, provider delay, what failed, latency."""

    reason: FailureReason
    status: int | None
    retry_after_s: float | None
    detail: str
    failure_kind: str | None
    latency_ms: float
    #: The upstream's own words, for a request it refused (format): for the caller only,
    #: never the audit (they may echo the request).
    message: str = ""


async def close_quietly(
    context: AbstractAsyncContextManager[UpstreamReply],
    chunks: AsyncIterator[Any] | None = None,
) -> None:
    """Release an upstream stream; errors while closing a failed stream do not matter."""
    try:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()
        await context.__aexit__(None, None, None)
    except (TransportFailure, OSError, RuntimeError):
        pass


async def open_upstream(
    transport: Transport,
    call: UpstreamCall,
    *,
    first_token_s: float,
    stream_idle_s: float,
    watchdog: Watchdog,
    on_malformed: Callable[[MalformedEvent], None],
) -> Opened | Failed:
    """Send ``call`` and read until the first token, all within ``first_token_s`` seconds; the
    opened stream's later waits are bounded by ``stream_idle_s`` (one watch per attempt, its
    deadlines on the engine's ``watchdog``, whose clock times the attempt)."""
    clock = watchdog.clock
    started = clock.monotonic()
    context = transport.send(call)
    watch = IdleWatch(first_token_s, watchdog, then_s=stream_idle_s)
    try:
        with watch:
            return await _read_head(
                context, call, watch=watch, started=started, clock=clock, on_malformed=on_malformed
            )
    except TimeoutError:
        return _failed(
            FailureReason.TIMEOUT,
            None,
            detail="no first token",
            kind=SILENT_UPSTREAM,
            started=started,
            clock=clock,
        )
    except TransportFailure as exc:
        classified = classify_outcome(
            status=None,
            headers={},
            body_excerpt="",
            transport_error=exc,
            provider=call.provider.id,
            api=call.provider.api,
        )
        reason = classified.reason or FailureReason.UNKNOWN
        return _failed(
            reason, None, detail=classified.detail, kind=exc.kind, started=started, clock=clock
        )


def _failed(
    reason: FailureReason,
    status: int | None,
    *,
    detail: str,
    kind: str | None,
    started: float,
    clock: Clock,
    retry_after_s: float | None = None,
) -> Failed:
    latency_ms = (clock.monotonic() - started) * 1000.0
    return Failed(reason, status, retry_after_s, detail, kind, latency_ms)


async def _read_head(
    context: AbstractAsyncContextManager[UpstreamReply],
    call: UpstreamCall,
    *,
    watch: IdleWatch,
    started: float,
    clock: Clock,
    on_malformed: Callable[[MalformedEvent], None],
) -> Opened | Failed:
    """Enter the reply and read up to the first token; whatever stops this (a deadline, the
    caller leaving, a broken connection) closes the reply on its way out."""
    reply = await context.__aenter__()
    if not 200 <= reply.status < 300:
        try:
            return await _error_reply(reply, call, started=started, clock=clock)
        finally:
            await close_quietly(context)
    chunks = reply.chunks().__aiter__()
    head: list[Chunk] = []
    try:
        async for item in chunks:
            if isinstance(item, MalformedEvent):
                on_malformed(item)
                continue
            head.append(item)
            if has_token(item):
                ttfb_ms = (clock.monotonic() - started) * 1000.0
                return Opened(context, chunks, head, ttfb_ms, watch)
    except BaseException:
        await close_quietly(context, chunks)
        raise
    await close_quietly(context, chunks)
    return _failed(
        FailureReason.EMPTY_RESPONSE,
        reply.status,
        detail="no content",
        kind=None,
        started=started,
        clock=clock,
    )


async def _error_reply(
    reply: UpstreamReply, call: UpstreamCall, *, started: float, clock: Clock
) -> Failed:
    """A non-2xx reply, classified from its status, headers and body excerpt."""
    excerpt = await reply.error_excerpt(4096)  # the key masked; and the provider's headers:
    for credential in header_credentials(call.provider.headers):
        excerpt = excerpt.replace(credential, "***")
    result = classify_outcome(
        status=reply.status,
        headers=reply.headers,
        body_excerpt=excerpt,
        transport_error=None,
        provider=call.provider.id,
        api=call.provider.api,
        now=clock.now(),
    )
    failed = _failed(
        result.reason or FailureReason.UNKNOWN,
        reply.status,
        detail=result.detail,
        kind=None,
        started=started,
        clock=clock,
        retry_after_s=result.retry_after_s,
    )
    if failed.reason is FailureReason.FORMAT:
        return replace(failed, message=upstream_message(excerpt))
    return failed


def blameless(failed: Failed, *, queued: bool, cut_s: float | None) -> Failed:
    """A timeout no upstream is to blame for, relabelled: the deadline struck while the call
    waited for a provider slot, or struck early because the budget had cut it to ``cut_s``."""
    if queued and failed.reason is FailureReason.TIMEOUT:
        detail = "no provider slot free before the first-token deadline"
        return replace(failed, failure_kind=SLOT_WAIT_TIMEOUT, detail=detail)
    if cut_s is not None and failed.failure_kind == SILENT_UPSTREAM:
        detail = f"intentBudgetS spent {cut_s:.3g} s into this attempt"
        return replace(failed, failure_kind=BUDGET_SPENT, detail=detail)
    return failed
