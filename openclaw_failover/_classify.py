"""Classification: one upstream outcome (status, headers, body excerpt, transport error) -> reason.

Pure: no I/O, no clock, no logging. The base is OpenClaw's own mapping
(``reference/openclaw.md`` 4.1, ``src/agents/failover-error.ts``); provider body cues are added
per rule, each naming its source. ``retry_after_s`` comes back with the reason, so one call
both classifies and gives the delay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._model import FailureReason as R
from ._ports import TransportFailure
from ._retry_after import _retry_delay, parse_ratelimit_reset, parse_retry_after

__all__ = ["TRANSPORT_REASONS", "Classification", "classify_outcome", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class Classification:
    """The reason (None for a 2xx), the provider's Retry-After in seconds, and a short detail.

    ``detail`` is built from status, error type/code or exception kind: never body text, so it
    cannot carry a secret or prompt text.
    """

    reason: R | None
    retry_after_s: float | None = None
    detail: str = ""


#: Every httpx exception class name (``TransportFailure.kind``) -> reason. A test lists httpx's
#: exception classes and checks each one is here. Timeouts are silent routes; network and
#: protocol faults are the "connection reset before headers" row of the design's table.
TRANSPORT_REASONS: Mapping[str, R] = {
    "ConnectTimeout": R.TIMEOUT,
    "ReadTimeout": R.TIMEOUT,
    "WriteTimeout": R.TIMEOUT,
    "PoolTimeout": R.TIMEOUT,
    "TimeoutException": R.TIMEOUT,
    "ConnectError": R.SERVER_ERROR,
    "ReadError": R.SERVER_ERROR,
    "WriteError": R.SERVER_ERROR,
    "CloseError": R.SERVER_ERROR,
    "NetworkError": R.SERVER_ERROR,
    "RemoteProtocolError": R.SERVER_ERROR,
    "ProtocolError": R.SERVER_ERROR,
    "ProxyError": R.SERVER_ERROR,
    "DecodingError": R.SERVER_ERROR,
    "TransportError": R.SERVER_ERROR,
    # Our own mistakes or the operator's (bad URL, bad request object): no provider fault.
    "LocalProtocolError": R.UNKNOWN,
    "UnsupportedProtocol": R.UNKNOWN,
    "InvalidURL": R.UNKNOWN,
    "TooManyRedirects": R.UNKNOWN,
    "CookieConflict": R.UNKNOWN,
    "RequestError": R.UNKNOWN,
    "HTTPError": R.UNKNOWN,
    "HTTPStatusError": R.UNKNOWN,
    "StreamError": R.UNKNOWN,
    "StreamConsumed": R.UNKNOWN,
    "StreamClosed": R.UNKNOWN,
    "ResponseNotRead": R.UNKNOWN,
    "RequestNotRead": R.UNKNOWN,
    # Engine-side kinds: the deadlines, and an error event inside a 200 stream.
    "FirstTokenTimeout": R.TIMEOUT,
    "StreamIdleTimeout": R.TIMEOUT,
}
_STREAM_ERROR_KIND = "UpstreamStreamError"


def _cue(*words: str) -> re.Pattern[str]:
    return re.compile("|".join(words))


# Context window exceeded. OpenAI code ``context_length_exceeded`` and "maximum context length"
# (OpenAI error codes guide; OpenRouter relays the same text); Anthropic invalid_request_error
# "prompt is too long" and 413 ``request_too_large`` (Anthropic "Errors" doc); Ollama "context
# length exceeded" / "exceeds the context length" (OpenClaw 4.2 quotes "ollama error: context
# length exceeded"); "input token count exceeds" (OpenClaw 4.2); llama.cpp server 400
# ``exceed_context_size_error`` "request (N tokens) exceeds the available context size"
# (captured from xllamacpp 2026.10.11549's server; tests/test_providers_classify.py).
_CONTEXT = _cue(
    r"context_length_exceeded",
    r"maximum context length",
    r"prompt is too long",
    r"request_too_large",
    r"context length (?:exceeded|of)",
    r"exceeds the context (?:length|window)",
    r"input token count exceeds",
    r"context window",
    r"exceed_context_size_error",
    r"exceeds the available context size",
)
# Revoked or deactivated keys (OpenClaw 4.1: revoked/deactivated text -> auth_permanent;
# DEACTIVATED_WORKSPACE code; OpenAI ``account_deactivated``).
_REVOKED = _cue(r"revoked", r"deactivated", r"key (?:has been|was) disabled")
# Billing. OpenAI 429 ``insufficient_quota``; Anthropic ``billing_error`` and 400 "credit balance
# is too low"; OpenRouter 402 "insufficient credits" (OpenRouter "Errors" doc); OpenClaw 4.1.
_BILLING = _cue(
    r"insufficient_quota",
    # Not the bare word: OpenAI's plain 429 text links ".../account/billing" (rate limits guide).
    r"billing_error",
    r"billing[_ ]hard[_ ]limit",
    r"insufficient credits",
    r"credit balance",
    r"payment required",
    r"exceeded your current quota",
)
# A 402 that is really a spend window (OpenClaw 4.1: weekly/daily limit, resets, spend limit).
_SPEND_WINDOW = _cue(r"weekly limit", r"daily limit", r"resets", r"spend limit")
# Rate limits (OpenClaw 4.1 codes and message heuristics; Anthropic ``rate_limit_error``).
_RATE = _cue(
    r"rate_limit",
    r"rate limit",
    r"too many (?:concurrent )?requests",
    r"throttl",
    r"concurrency limit",
    r"resource[_ ]exhausted",
)
# Google's quota windows (per minute, per day): status RESOURCE_EXHAUSTED, whose message is
# "You exceeded your current quota, please check your plan and billing details" even for a
# per-minute limit. OpenClaw 4.1 maps the code to rate_limit; the words are no billing cue.
_QUOTA_WINDOW = _cue(r"resource_exhausted")
# Anthropic ``overloaded_error`` (529) and OpenClaw 4.1 "unless the message says overloaded".
_OVERLOADED = _cue(r"overloaded")
# Missing models. OpenAI code ``model_not_found`` / "does not exist"; Anthropic
# ``not_found_error``; Ollama "model ... not found, try pulling it first" (Ollama docs/api.md
# "Errors"); OpenRouter "No endpoints found" (OpenRouter "Errors" doc).
_NOT_FOUND = _cue(
    r"model_not_found",
    r"not_found_error",
    r"try pulling it",
    r"no endpoints found",
    r"model\b.{0,80}\b(?:not found|does not exist)",
)
# Auth. Anthropic ``authentication_error`` / ``permission_error``; OpenAI ``invalid_api_key``.
_AUTH = _cue(
    r"authentication_error",
    r"permission_error",
    r"invalid_api_key",
    r"invalid api key",
    r"incorrect api key",
    r"unauthorized",
)
# Server faults inside a body (OpenClaw 4.1: ``server_error``/``upstream_error`` types,
# "Unhandled stop reason: error", "Provider finish_reason: error"; Anthropic ``api_error``).
_SERVER = _cue(
    r"server_error",
    r"upstream_error",
    r"api_error",
    r"unhandled stop reason: error",
    r"finish_reason: error",
)
# OpenRouter's bare "Provider returned error" is a timeout, for OpenRouter only (OpenClaw 4.1).
_OPENROUTER_PROVIDER_ERROR = _cue(r"provider returned error")
# Anthropic/OpenAI ``invalid_request_error`` is a format problem (OpenClaw 4.1).
_INVALID_REQUEST = _cue(r"invalid_request_error")

_TIMEOUT_STATUSES = frozenset({408, 499, 504, 522, 524})


@dataclass(frozen=True, slots=True)
class _Body:
    """The searchable text of an error body (lower-case) and its type/code for ``detail``."""

    text: str
    label: str


def upstream_message(excerpt: str, *, limit: int = 300) -> str:
    """The upstream's own words in an error body: ``error.message`` (OpenAI, Anthropic),
    ``error`` as text, or ``message``; at most ``limit`` characters, "" when there are none."""
    try:
        data = json.loads(excerpt) if excerpt[:1] == "{" else None
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    found = error.get("message") if isinstance(error, dict) else error or data.get("message")
    return " ".join(found.split())[:limit] if isinstance(found, str) else ""


def _parse_body(excerpt: str) -> _Body:
    text = excerpt.lower()
    try:
        data = json.loads(excerpt) if excerpt[:1] in "{[" and excerpt else None
    except ValueError:
        data = None
    label = ""
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            for name in ("type", "code", "status"):
                value = error.get(name)
                if isinstance(value, str | int) and not isinstance(value, bool):
                    label = str(value)[:40]
                    break
    return _Body(text, label)


def classify_outcome(
    *,
    status: int | None,
    headers: Mapping[str, str],
    body_excerpt: str,
    transport_error: TransportFailure | str | None,
    provider: str,
    api: str = "",
    now: float | None = None,
) -> Classification:
    """Classify one attempt's outcome. A 2xx gives ``reason=None`` (the engine judges emptiness).

    ``transport_error`` is a :class:`TransportFailure` or its ``kind``; ``now`` (epoch seconds)
    is needed only to read a Retry-After given as an HTTP date or an Anthropic RFC 3339 reset.
    """
    del api  # the body cues below are wire-format independent
    if transport_error is not None:
        return _classify_transport(transport_error, provider)
    retry_after = parse_retry_after(headers, now=now) if status in (429, 503, 529) else None
    if retry_after is None and status == 429:
        retry_after = _retry_delay(body_excerpt)
    if retry_after is None and status == 429:  # no hint but the used-up limit's reset time
        retry_after = parse_ratelimit_reset(headers, now=now)
    if status is not None and 200 <= status < 300:
        return Classification(None, retry_after, str(status))
    body = _parse_body(body_excerpt)
    reason = _by_status(status, body, provider)
    detail = f"{status if status is not None else 'stream'} {body.label}".strip()
    return Classification(reason, retry_after, detail)


def _classify_transport(error: TransportFailure | str, provider: str) -> Classification:
    kind = error if isinstance(error, str) else error.kind
    if kind == _STREAM_ERROR_KIND:
        detail = "" if isinstance(error, str) else error.detail
        body = _parse_body(detail)
        return Classification(_by_cue(body, provider) or R.SERVER_ERROR, None, kind)
    return Classification(TRANSPORT_REASONS.get(kind, R.UNKNOWN), None, kind)


def _payment(body: _Body, provider: str) -> R:
    """402 is billing, unless the text names a spend window (OpenClaw 4.1)."""
    del provider
    return R.RATE_LIMIT if _SPEND_WINDOW.search(body.text) else R.BILLING


def _too_many(body: _Body, provider: str) -> R:
    """429 is a rate limit, unless the text says billing (OpenAI ``insufficient_quota``); a
    Google ``RESOURCE_EXHAUSTED`` quota window stays a rate limit whatever its words."""
    del provider
    text = body.text
    if _BILLING.search(text) and not _QUOTA_WINDOW.search(text):
        return R.BILLING
    return R.RATE_LIMIT


def _denied(body: _Body, provider: str) -> R:
    """401/403 are auth; revoked text is permanent, billing text is billing (OpenClaw 4.1)."""
    del provider
    if _REVOKED.search(body.text):
        return R.AUTH_PERMANENT
    return R.BILLING if _BILLING.search(body.text) else R.AUTH


def _gone(body: _Body, provider: str) -> R:
    """410 is a timeout unless the text says otherwise (OpenClaw 4.1)."""
    return _by_cue(body, provider) or R.TIMEOUT


def _bad_request(body: _Body, provider: str) -> R:
    """400/422 are format problems unless the text classifies otherwise (OpenClaw 4.1)."""
    return _by_cue(body, provider, quiet_server=True) or R.FORMAT


_FIXED: Mapping[int, R] = {
    413: R.CONTEXT_OVERFLOW,  # OpenClaw 4.1 (413 = context_overflow); Anthropic request_too_large
    529: R.OVERLOADED,  # Anthropic overloaded_error
    **dict.fromkeys(_TIMEOUT_STATUSES, R.TIMEOUT),
}


def _by_status(status: int | None, body: _Body, provider: str) -> R:
    if status is None:
        return _by_cue(body, provider) or R.UNKNOWN
    fixed = _FIXED.get(status)
    if fixed is not None:
        return fixed
    rule = _STATUS_RULES.get(status)
    if rule is not None:
        return rule(body, provider)
    if status >= 500:
        return _server(body, provider)
    return R.UNKNOWN


def _not_found(body: _Body, provider: str) -> R:
    """404 is drift unless the body says context, billing or auth (OpenClaw 4.1)."""
    del provider
    text = body.text
    if _CONTEXT.search(text):
        return R.CONTEXT_OVERFLOW
    if _BILLING.search(text):
        return R.BILLING
    if _AUTH.search(text):
        return R.AUTH
    return R.MODEL_NOT_FOUND


def _server(body: _Body, provider: str) -> R:
    """Other 5xx are server errors unless the text says overloaded or context (OpenClaw 4.1)."""
    text = body.text
    if _OVERLOADED.search(text):
        return R.OVERLOADED
    if _CONTEXT.search(text):  # Ollama answers 500 for "context length exceeded"
        return R.CONTEXT_OVERFLOW
    if provider == "openrouter" and _OPENROUTER_PROVIDER_ERROR.search(text):
        return R.TIMEOUT
    return R.SERVER_ERROR


def _by_cue(body: _Body, provider: str, *, quiet_server: bool = False) -> R | None:
    """The body's own words, most specific first; None when nothing matches."""
    text = body.text
    ordered = (
        (_CONTEXT, R.CONTEXT_OVERFLOW),
        (_REVOKED, R.AUTH_PERMANENT),
        (_QUOTA_WINDOW, R.RATE_LIMIT),
        (_BILLING, R.BILLING),
        (_RATE, R.RATE_LIMIT),
        (_OVERLOADED, R.OVERLOADED),
        (_NOT_FOUND, R.MODEL_NOT_FOUND),
        (_AUTH, R.AUTH),
        (_INVALID_REQUEST, R.FORMAT),
    )
    for pattern, reason in ordered:
        if pattern.search(text):
            return reason
    if provider == "openrouter" and _OPENROUTER_PROVIDER_ERROR.search(text):
        return R.TIMEOUT
    if not quiet_server and _SERVER.search(text):
        return R.SERVER_ERROR
    return None


_STATUS_RULES: Mapping[int, Callable[[_Body, str], R]] = {
    400: _bad_request,
    401: _denied,
    402: _payment,
    403: _denied,
    404: _not_found,
    410: _gone,
    422: _bad_request,
    429: _too_many,
}
