"""Classification: status, headers, body cues and transport errors -> reason and Retry-After."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from openclaw_failover._classify import TRANSPORT_REASONS, classify_outcome, parse_retry_after
from openclaw_failover._model import FailureReason as R
from openclaw_failover._ports import TransportFailure


def _classify(status: int | None, body: object = "", *, provider: str = "openai", **headers: str):
    text = body if isinstance(body, str) else json.dumps(body)
    return classify_outcome(
        status=status,
        headers=headers,
        body_excerpt=text,
        transport_error=None,
        provider=provider,
        api="openai-completions",
    )


# (status, body, provider, reason, source)
ROWS = [
    # OpenClaw reference 4.1: the status table.
    (429, "", "openai", R.RATE_LIMIT, "openclaw 4.1 429"),
    (402, "", "openai", R.BILLING, "openclaw 4.1 402"),
    (402, "daily limit reached, resets at 00:00", "x", R.RATE_LIMIT, "openclaw 4.1 402 spend"),
    (401, "", "openai", R.AUTH, "openclaw 4.1 401"),
    (403, "", "openai", R.AUTH, "openclaw 4.1 403"),
    (401, "This API key has been revoked", "x", R.AUTH_PERMANENT, "openclaw 4.1 revoked"),
    (408, "", "openai", R.TIMEOUT, "openclaw 4.1 408"),
    (410, "", "openai", R.TIMEOUT, "openclaw 4.1 410"),
    (404, "", "openai", R.MODEL_NOT_FOUND, "openclaw 4.1 404"),
    (529, "", "anthropic", R.OVERLOADED, "openclaw 4.1 529"),
    (499, "", "openai", R.TIMEOUT, "openclaw 4.1 499"),
    (504, "", "openai", R.TIMEOUT, "openclaw 4.1 504"),
    (522, "", "openai", R.TIMEOUT, "openclaw 4.1 522"),
    (524, "", "openai", R.TIMEOUT, "openclaw 4.1 524"),
    (500, "", "openai", R.SERVER_ERROR, "openclaw 4.1 5xx"),
    (502, "", "openai", R.SERVER_ERROR, "openclaw 4.1 502"),
    (503, "", "openai", R.SERVER_ERROR, "openclaw 4.1 503"),
    (503, "The server is overloaded", "openai", R.OVERLOADED, "openclaw 4.1 5xx overloaded"),
    (400, "", "openai", R.FORMAT, "openclaw 4.1 400"),
    (422, "", "openai", R.FORMAT, "openclaw 4.1 422"),
    (400, "Too many concurrent requests", "x", R.RATE_LIMIT, "openclaw 4.1 heuristics"),
    (500, "Unhandled stop reason: error", "x", R.SERVER_ERROR, "openclaw 4.1 heuristics"),
    (502, "Provider returned error", "openrouter", R.TIMEOUT, "openclaw 4.1 openrouter"),
    (502, "Provider returned error", "groq", R.SERVER_ERROR, "openclaw 4.1 openrouter only"),
    # OpenAI error codes guide.
    (
        429,
        {"error": {"type": "insufficient_quota", "message": "You exceeded your current quota"}},
        "openai",
        R.BILLING,
        "openai insufficient_quota",
    ),
    (
        429,
        {"error": {"type": "requests", "code": "rate_limit_exceeded", "message": "Rate limit"}},
        "openai",
        R.RATE_LIMIT,
        "openai rate_limit_exceeded",
    ),
    (
        429,
        {
            "error": {
                "code": "rate_limit_exceeded",
                "message": "Rate limit reached for gpt-4o on tokens per min (TPM). You can "
                "increase your rate limit by adding a payment method at "
                "https://platform.openai.com/account/billing",
            }
        },
        "openai",
        R.RATE_LIMIT,
        "openai rate limit text linking billing",
    ),
    (
        400,
        {"error": {"code": "billing_hard_limit_reached", "message": "Billing hard limit"}},
        "openai",
        R.BILLING,
        "openai billing_hard_limit_reached",
    ),
    (
        401,
        {"error": {"code": "invalid_api_key", "message": "Incorrect API key provided: sk-***"}},
        "openai",
        R.AUTH,
        "openai invalid_api_key",
    ),
    (
        400,
        {
            "error": {
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
                "message": "This model's maximum context length is 8192 tokens.",
            }
        },
        "openai",
        R.CONTEXT_OVERFLOW,
        "openai context_length_exceeded",
    ),
    (
        404,
        {"error": {"code": "model_not_found", "message": "The model `x` does not exist"}},
        "openai",
        R.MODEL_NOT_FOUND,
        "openai model_not_found",
    ),
    (
        400,
        {"error": {"type": "invalid_request_error", "message": "messages: required"}},
        "openai",
        R.FORMAT,
        "openai invalid_request_error",
    ),
    (
        401,
        {"error": {"code": "account_deactivated", "message": "account deactivated"}},
        "openai",
        R.AUTH_PERMANENT,
        "openai account_deactivated",
    ),
    # Anthropic "Errors" doc.
    (
        529,
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "anthropic",
        R.OVERLOADED,
        "anthropic overloaded_error",
    ),
    (
        429,
        {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request"}},
        "anthropic",
        R.RATE_LIMIT,
        "anthropic rate_limit_error",
    ),
    (
        401,
        {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api"}},
        "anthropic",
        R.AUTH,
        "anthropic authentication_error",
    ),
    (
        403,
        {"type": "error", "error": {"type": "permission_error", "message": "no permission"}},
        "anthropic",
        R.AUTH,
        "anthropic permission_error",
    ),
    (
        404,
        {"type": "error", "error": {"type": "not_found_error", "message": "model: x"}},
        "anthropic",
        R.MODEL_NOT_FOUND,
        "anthropic not_found_error",
    ),
    (
        400,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "prompt is too long: 210000 tokens > 200000 maximum",
            },
        },
        "anthropic",
        R.CONTEXT_OVERFLOW,
        "anthropic prompt too long",
    ),
    (
        400,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "Your credit balance is too low to access the Anthropic API.",
            },
        },
        "anthropic",
        R.BILLING,
        "anthropic credit balance",
    ),
    (
        413,
        {"type": "error", "error": {"type": "request_too_large", "message": "too large"}},
        "anthropic",
        R.CONTEXT_OVERFLOW,
        "anthropic request_too_large",
    ),
    (
        500,
        {"type": "error", "error": {"type": "api_error", "message": "Internal"}},
        "anthropic",
        R.SERVER_ERROR,
        "anthropic api_error",
    ),
    # OpenRouter "Errors" doc.
    (
        402,
        {"error": {"code": 402, "message": "Insufficient credits. Add more credits."}},
        "openrouter",
        R.BILLING,
        "openrouter 402",
    ),
    (
        404,
        {"error": {"code": 404, "message": "No endpoints found for x/y."}},
        "openrouter",
        R.MODEL_NOT_FOUND,
        "openrouter no endpoints",
    ),
    (
        400,
        {"error": {"code": 400, "message": "This endpoint's maximum context length is 8192"}},
        "openrouter",
        R.CONTEXT_OVERFLOW,
        "openrouter context",
    ),
    # Ollama docs/api.md "Errors".
    (
        404,
        {"error": 'model "qwen3:8b" not found, try pulling it first'},
        "ollama",
        R.MODEL_NOT_FOUND,
        "ollama not pulled",
    ),
    (
        500,
        {"error": "ollama error: context length exceeded"},
        "ollama",
        R.CONTEXT_OVERFLOW,
        "ollama context",
    ),
    (
        400,
        {"error": "the input length exceeds the context length"},
        "ollama",
        R.CONTEXT_OVERFLOW,
        "ollama input length",
    ),
    (
        500,
        {"error": "llama runner process has terminated"},
        "ollama",
        R.SERVER_ERROR,
        "ollama runner died",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "provider", "reason", "source"), ROWS, ids=[r[4] for r in ROWS]
)
def test_status_and_body_rows(
    status: int, body: object, provider: str, reason: R, source: str
) -> None:
    """Each documented status/body shape maps to the reason its source gives."""
    assert _classify(status, body, provider=provider).reason is reason, source


def test_success_has_no_reason() -> None:
    """A 2xx is not a failure: the engine judges emptiness itself."""
    assert _classify(200).reason is None


def test_detail_never_carries_body_text() -> None:
    """``detail`` names status and error type only, never the message (it may echo secrets)."""
    result = _classify(401, {"error": {"code": "invalid_api_key", "message": "sk-secret-123"}})
    assert "sk-secret" not in result.detail
    assert result.detail == "401 invalid_api_key"


def _httpx_exception_names() -> list[str]:
    return sorted(
        name
        for name, obj in vars(httpx).items()
        if inspect.isclass(obj) and issubclass(obj, Exception)
    )


@pytest.mark.parametrize("name", _httpx_exception_names())
def test_every_httpx_exception_maps_to_a_reason(name: str) -> None:
    """Every httpx exception class name has an explicit reason in the transport table."""
    assert name in TRANSPORT_REASONS
    failure = TransportFailure(kind=name)
    result = classify_outcome(
        status=None, headers={}, body_excerpt="", transport_error=failure, provider="openai"
    )
    assert result.reason is TRANSPORT_REASONS[name]
    assert result.detail == name


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("ReadTimeout", R.TIMEOUT),
        ("ConnectTimeout", R.TIMEOUT),
        ("ConnectError", R.SERVER_ERROR),
        ("ReadError", R.SERVER_ERROR),
        ("RemoteProtocolError", R.SERVER_ERROR),
        ("UnsupportedProtocol", R.UNKNOWN),
        ("SomethingNew", R.UNKNOWN),
    ],
)
def test_transport_kinds(kind: str, reason: R) -> None:
    """Timeouts are silent routes, resets are server faults, anything new is unknown."""
    result = classify_outcome(
        status=None, headers={}, body_excerpt="", transport_error=kind, provider="openai"
    )
    assert result.reason is reason


def test_in_stream_error_uses_its_text() -> None:
    """An error event inside a 200 stream is classified by its words, else a server error."""
    overloaded = TransportFailure("UpstreamStreamError", '{"type":"overloaded_error"}')
    plain = TransportFailure("UpstreamStreamError", "boom")
    for failure, reason in ((overloaded, R.OVERLOADED), (plain, R.SERVER_ERROR)):
        result = classify_outcome(
            status=None, headers={}, body_excerpt="", transport_error=failure, provider="x"
        )
        assert result.reason is reason


def test_retry_after_seconds_ms_and_date() -> None:
    """Retry-After is read as seconds, as ``retry-after-ms``, and as an HTTP date."""
    now = 1_800_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 120, tz=UTC), usegmt=True)
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"Retry-After": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(120.0)
    assert parse_retry_after({"retry-after": date}) is None
    assert parse_retry_after({"retry-after": "soon"}, now=now) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", "Infinity", "-5", "1_0", "1e3", "٣"])
def test_retry_after_not_a_plain_number_counts_as_absent(bad: str) -> None:
    """NaN, infinite, negative or odd spellings are no Retry-After (were 0 s or a 1 h cap)."""
    assert parse_retry_after({"retry-after": bad}, now=1_800_000_000.0) is None


@pytest.mark.parametrize("bad_ms", ["nan", "-250", "inf", ""])
def test_bad_retry_after_ms_leaves_a_valid_retry_after_in_charge(bad_ms: str) -> None:
    """An unreadable ``retry-after-ms`` no longer overrides a valid Retry-After with 0."""
    assert parse_retry_after({"retry-after-ms": bad_ms, "retry-after": "9"}) == 9.0
    assert parse_retry_after({"retry-after-ms": bad_ms}) is None
    assert _classify(429, "", **{"retry-after-ms": bad_ms}).retry_after_s is None


def test_retry_after_comes_back_with_a_429() -> None:
    """One call classifies and gives the delay (stamina's predicate shape)."""
    result = _classify(429, "", **{"retry-after": "30"})
    assert result.reason is R.RATE_LIMIT
    assert result.retry_after_s == 30.0
