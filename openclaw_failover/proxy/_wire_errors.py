"""OpenAI-style error bodies on the wire, including the hard stop's 429 contract.

The status of each stop is chosen for what OpenClaw 2026.9.6 does with it (reference
openclaw.md 4.1-4.3): a 429 whose Retry-After exceeds 60 s makes it give up same-model retries
at once; a 404 is ``model_not_found``, which is never retried on the same model; a 5xx would be
retried for up to 90 s, so no deliberate stop is sent as a 5xx.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from .._errors import (
    AllCandidatesFailed,
    AttemptRecord,
    RequestRejected,
    RouteDriftError,
    UpstreamError,
)
from ..config._redact import scrub_text

#: OpenClaw retries a 429 whose Retry-After is at most 60 s up to 10 times; above, it stops.
MIN_HARD_STOP_RETRY_AFTER_S = 61


@dataclass(frozen=True, slots=True)
class WireError:
    """One error response: status, JSON body bytes and extra headers."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    outcome: str = "client_error"


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    outcome: str = "client_error",
) -> WireError:
    """Build an OpenAI-shaped ``{"error": {...}}`` response."""
    error: dict[str, Any] = {"message": message, "type": type_, "param": param, "code": code}
    if extra:
        error.update(extra)
    return WireError(status, orjson.dumps({"error": error}), headers, outcome)


def retry_after_s(soonest_retry_at: float | None, now: float) -> int:
    """The hard stop's Retry-After: ``max(61, ceil(soonest - now))`` whole seconds."""
    if soonest_retry_at is None:
        return MIN_HARD_STOP_RETRY_AFTER_S
    return max(MIN_HARD_STOP_RETRY_AFTER_S, math.ceil(soonest_retry_at - now))


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _attempts(attempts: tuple[AttemptRecord, ...]) -> list[dict[str, Any]]:
    return [a.as_dict() for a in attempts]


def hard_stop_error(
    exc: AllCandidatesFailed, *, route: str, route_version: str, now: float
) -> WireError:
    """The design's "hard stop on the wire": a real 429 with the soonest time and every attempt.

    For OpenClaw 2026.9.6 (dist ``retry-evidence``, ``maybeRetryTransient``): a Retry-After over
    60 s skips same-model retries only when OpenClaw has a fallback of its own, and in provider
    mode it has none, so it would wait the Retry-After and retry up to 9 times. "usage limit" in
    the message is long-window rate-limit evidence, which stops same-model retries at once with
    or without a fallback; "Retry after N seconds" (N > 60) says the same in text. The message
    avoids words OpenClaw reads as billing, auth, format or a per-minute window.

    ``retry-after-ms`` carries the true wait when it is known: the ``openai`` SDKs read it
    before ``Retry-After`` (so a client retrying on its own waits for the soonest candidate,
    not the 61 s floor), while OpenClaw takes the larger of the two (``@openclaw/ai``
    ``parseRetryAfterHeadersSeconds``), so what it sees stays at least 61 s.
    """
    wait_s = retry_after_s(exc.soonest_retry_at, now)
    soonest = exc.soonest_retry_at
    when = "no candidate said when it is free again"
    headers: tuple[tuple[str, str], ...] = (("retry-after", str(wait_s)),)
    if soonest is not None:
        when = f"the soonest candidate is free again at {_iso(soonest)}"
        wait_ms = max(0, math.ceil((soonest - now) * 1000.0))
        headers += (("retry-after-ms", str(wait_ms)),)
    tried = sum(1 for a in exc.attempts if not a.skipped)
    skipped = len(exc.attempts) - tried
    message = (
        f"openclaw-failover: usage limit reached for route '{route}': every candidate failed "
        f"or is cooling down ({tried} tried, {skipped} skipped); {when}. "
        f"Retry after {wait_s} seconds. Details: error.failover.attempts."
    )
    extra = {
        "failover": {
            "route": route,
            "route_version": route_version,
            "soonest_retry_at": soonest,
            "soonest_retry_at_iso": _iso(soonest) if soonest is not None else None,
            "retry_after_s": wait_s,
            "attempts": _attempts(exc.attempts),
        }
    }
    return openai_error(
        429,
        message,
        type_="failover_hard_stop",
        code="rate_limit_exceeded",
        extra=extra,
        headers=headers,
        outcome="hard_stop",
    )


def drift_error(exc: RouteDriftError, *, route: str, route_version: str) -> WireError:
    """Route-table drift: 404 ``model_not_found`` naming the chain entry the provider lacks.

    404 because OpenClaw classifies it as ``model_not_found`` and never retries it on the same
    model, so the operator sees it at once; a 502 would be retried for up to 90 s.
    """
    missing = ", ".join(
        f"{a.provider}/{a.model}" for a in exc.attempts if a.reason == "model_not_found"
    )
    message = (
        f"openclaw-failover: route '{route}' names a model its provider does not serve "
        f"({missing or 'unknown'}); the route table drifted from the provider. "
        "Fix the chain in the config and reload."
    )
    extra = {
        "failover": {
            "route": route,
            "route_version": route_version,
            "attempts": _attempts(exc.attempts),
        }
    }
    return openai_error(
        404, message, type_="route_drift", code="model_not_found", extra=extra, outcome="drift"
    )


def rejected_error(exc: RequestRejected, *, route: str, route_version: str) -> WireError:
    """The upstream refused the request itself: 400, with its own words passed on (anything
    key-shaped in them masked), else its status and error type."""
    last = exc.attempts[-1] if exc.attempts else None
    detail = last.detail if last is not None else ""
    if exc.upstream_message:
        detail = scrub_text(exc.upstream_message, ())
    extra = {
        "failover": {
            "route": route,
            "route_version": route_version,
            "attempts": _attempts(exc.attempts),
        }
    }
    if last is not None and last.reason == "context_overflow":
        message = f"context length exceeded: {detail or 'the request is too large for the model'}"
        return openai_error(
            400, message, code="context_length_exceeded", extra=extra, outcome="rejected"
        )
    message = f"the upstream rejected the request: {detail or 'no detail given'}"
    return openai_error(400, message, code="upstream_rejected", extra=extra, outcome="rejected")


def upstream_error(exc: UpstreamError, *, route: str, route_version: str, now: float) -> WireError:
    """Map any engine stop to its wire error."""
    if isinstance(exc, AllCandidatesFailed):
        return hard_stop_error(exc, route=route, route_version=route_version, now=now)
    if isinstance(exc, RouteDriftError):
        return drift_error(exc, route=route, route_version=route_version)
    if isinstance(exc, RequestRejected):
        return rejected_error(exc, route=route, route_version=route_version)
    extra = {
        "failover": {
            "route": route,
            "route_version": route_version,
            "attempts": _attempts(exc.attempts),
        }
    }
    return openai_error(
        502,
        f"openclaw-failover: {exc}",
        type_="upstream_error",
        code="upstream_error",
        extra=extra,
        outcome=exc.outcome,
    )


def stream_error_event(exc: BaseException) -> bytes:
    """The explicit SSE error event that ends a stream which failed after its first byte."""
    body = {
        "error": {
            "message": f"openclaw-failover: the upstream stream failed after it started ({exc})",
            "type": "stream_error",
            "param": None,
            "code": "stream_interrupted",
        }
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"
