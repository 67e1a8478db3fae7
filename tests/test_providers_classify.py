"""Error replies of the Anthropic, Ollama and llama.cpp wires classify to the right reason.

The bodies are the ones our fakes send (Anthropic "Errors" doc; Ollama ``docs/api.md``), plus
one llama.cpp body captured from the real server (``exceed_context_size_error``), and the
in-stream error events our adapters turn into ``TransportFailure``.
"""

from __future__ import annotations

import json

import pytest

from openclaw_failover._classify import classify_outcome
from openclaw_failover._model import FailureReason as R
from openclaw_failover._ports import TransportFailure
from openclaw_failover.providers.anthropic import STREAM_ERROR_KIND as ANTHROPIC_STREAM_ERROR
from openclaw_failover.providers.ollama import STREAM_ERROR_KIND as OLLAMA_STREAM_ERROR
from openclaw_failover.testing import _fake_anthropic, _fake_ollama
from openclaw_failover.testing._fake_anthropic import AnthropicDialect
from openclaw_failover.testing._fake_ollama import OllamaDialect

# llama.cpp server (xllamacpp 2026.10.11549), a 5030-token prompt against n_ctx 2048.
LLAMACPP_CONTEXT = json.dumps(
    {
        "error": {
            "code": 400,
            "message": "request (5030 tokens) exceeds the available context size (2048 tokens), "
            "try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 5030,
            "n_ctx": 2048,
        }
    }
)


def _reason(
    status: int, body: str, *, provider: str, api: str, headers: dict[str, str] | None = None
) -> R | None:
    result = classify_outcome(
        status=status,
        headers=headers or {},
        body_excerpt=body,
        transport_error=None,
        provider=provider,
        api=api,
    )
    return result.reason


@pytest.mark.parametrize(
    ("status", "message", "reason"),
    [
        (529, None, R.OVERLOADED),
        (429, None, R.RATE_LIMIT),
        (401, None, R.AUTH),
        (403, None, R.AUTH),
        (404, None, R.MODEL_NOT_FOUND),
        (500, None, R.SERVER_ERROR),
        (413, None, R.CONTEXT_OVERFLOW),
        (400, _fake_anthropic.CONTEXT_OVERFLOW_MESSAGE, R.CONTEXT_OVERFLOW),
        (400, "messages.1.content: field required", R.FORMAT),
        (400, "Your credit balance is too low to access the Anthropic API.", R.BILLING),
        (401, "This API key has been revoked", R.AUTH_PERMANENT),
    ],
)
def test_anthropic_error_bodies_classify(status: int, message: str | None, reason: R) -> None:
    """Each Anthropic error type (by status and text) maps to the design's reason."""
    body = json.dumps(
        AnthropicDialect().error_body(status, model="claude-x", message=message, code=None)
    )
    assert _reason(status, body, provider="anthropic", api="anthropic-messages") is reason


def test_anthropic_rate_limit_keeps_retry_after() -> None:
    """A 429 rate_limit_error hands back its Retry-After seconds."""
    body = json.dumps(AnthropicDialect().error_body(429, model="", message=None, code=None))
    result = classify_outcome(
        status=429,
        headers={"retry-after": "7"},
        body_excerpt=body,
        transport_error=None,
        provider="anthropic",
        api="anthropic-messages",
    )
    assert result.reason is R.RATE_LIMIT
    assert result.retry_after_s == 7.0


@pytest.mark.parametrize(
    ("status", "message", "reason"),
    [
        (404, None, R.MODEL_NOT_FOUND),
        (500, None, R.SERVER_ERROR),
        (503, None, R.SERVER_ERROR),
        (500, _fake_ollama.CONTEXT_OVERFLOW_MESSAGE, R.CONTEXT_OVERFLOW),
        (400, _fake_ollama.CONTEXT_OVERFLOW_MESSAGE, R.CONTEXT_OVERFLOW),
        (400, "invalid request", R.FORMAT),
    ],
)
def test_ollama_error_bodies_classify(status: int, message: str | None, reason: R) -> None:
    """Ollama's ``{"error": ...}`` bodies map by status and text ("try pulling it" is drift)."""
    body = json.dumps(
        OllamaDialect().error_body(status, model="qwen3:8b", message=message, code=None)
    )
    assert _reason(status, body, provider="ollama", api="ollama") is reason


def test_llamacpp_context_overflow_classifies() -> None:
    """llama.cpp's real 400 ``exceed_context_size_error`` is context_overflow, not format."""
    assert (
        _reason(400, LLAMACPP_CONTEXT, provider="llamacpp", api="openai-completions")
        is R.CONTEXT_OVERFLOW
    )


@pytest.mark.parametrize(
    ("kind", "detail", "reason"),
    [
        (ANTHROPIC_STREAM_ERROR, "overloaded_error: Overloaded", R.OVERLOADED),
        (ANTHROPIC_STREAM_ERROR, "api_error: Internal server error", R.SERVER_ERROR),
        (OLLAMA_STREAM_ERROR, "an error was encountered while running the model", R.SERVER_ERROR),
        ("ConnectError", "refused", R.SERVER_ERROR),
        ("ReadTimeout", "", R.TIMEOUT),
    ],
)
def test_in_stream_errors_and_transport_failures_classify(
    kind: str, detail: str, reason: R
) -> None:
    """Error events inside a 200 stream and failures below HTTP map to a reason."""
    result = classify_outcome(
        status=200,
        headers={},
        body_excerpt="",
        transport_error=TransportFailure(kind=kind, detail=detail),
        provider="anthropic",
        api="anthropic-messages",
    )
    assert result.reason is reason
