"""The SDK shim: captured host shapes parse, unknown fields survive, results serialise."""

from __future__ import annotations

import dataclasses

import pytest

from openclaw_failover._vendor import openclaw_sdk_shim as shim

# Shapes as captured from real OpenClaw 2026.9.6 (reference/openclaw-live.md section 6).
ENDED = {
    "runId": "run-1",
    "callId": "call-1",
    "sessionKey": "agent:main:explicit:s1",
    "sessionId": "s1",
    "provider": "fakeprimary",
    "model": "fake-model",
    "api": "openai-completions",
    "transport": "http",
    "contextTokenBudget": 128000,
    "contextWindowSource": "model",
    "durationMs": 812,
    "outcome": "error",
    "requestPayloadBytes": 60011,
    "responseStreamBytes": 0,
    "timeToFirstByteMs": 33,
    "errorCategory": "Error",
    "someFutureField": {"nested": [1, 2]},
}
TOOL_CTX = {
    "runId": "run-1",
    "agentId": "main",
    "sessionKey": "agent:main:explicit:s1",
    "sessionId": "s1",
    "toolName": "exec",
    "toolCallId": "call_b90024071c02",
    "requester": {"senderIsOwner": True},
    "trace": {"traceId": "abc"},
}


def test_captured_model_call_ended_parses() -> None:
    """A captured model_call_ended event gives typed fields in snake_case."""
    event = shim.from_json(shim.ModelCallEndedEvent, ENDED)
    assert (event.provider, event.model, event.outcome) == ("fakeprimary", "fake-model", "error")
    assert event.time_to_first_byte_ms == 33
    assert event.failure_kind is None


def test_unknown_fields_are_kept_and_round_trip() -> None:
    """Fields the shim does not know are kept in `extra` and written back by to_json."""
    event = shim.from_json(shim.ModelCallEndedEvent, ENDED)
    assert event.extra["someFutureField"] == {"nested": [1, 2]}
    assert shim.to_json(event) == ENDED


def test_tool_context_has_no_model_and_keeps_trace() -> None:
    """The tool ctx parses without any model field; unknown `trace` is kept."""
    ctx = shim.from_json(shim.ToolContext, TOOL_CTX)
    assert ctx.run_id == "run-1"
    assert ctx.requester == {"senderIsOwner": True}
    assert "model" not in {f.name for f in dataclasses.fields(ctx)}
    assert ctx.extra == {"trace": {"traceId": "abc"}}


def test_payloads_are_frozen() -> None:
    """Payloads are immutable values."""
    ctx = shim.from_json(shim.AgentContext, {"modelProviderId": "a"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.model_id = "b"  # type: ignore[misc]


def test_missing_and_null_fields_default() -> None:
    """An empty or null-valued payload still parses, with defaults."""
    event = shim.from_json(shim.BeforeToolCallEvent, {"toolName": "exec", "runId": None})
    assert event.run_id is None
    assert event.params == {}
    assert shim.from_json(shim.BeforeModelResolveEvent, None).prompt == ""


def test_results_serialise_in_host_shape() -> None:
    """Results use the host's camelCase names and omit unset fields."""
    block = shim.BeforeToolCallResult(block=True, block_reason="no")
    assert block.to_json() == {"block": True, "blockReason": "no"}
    steer = shim.BeforeModelResolveResult(provider_override="b", model_override="m")
    assert steer.to_json() == {"providerOverride": "b", "modelOverride": "m"}
    allow = shim.BeforePromptBuildResult(tools_allow=("read", "ls"))
    assert allow.to_json() == {"toolsAllow": ["read", "ls"]}


def test_camel_and_snake_are_inverse() -> None:
    """Name conversion between the host's camelCase and Python's snake_case is lossless."""
    for name in ("time_to_first_byte_ms", "run_id", "tools_allow", "prompt"):
        assert shim.snake(shim.camel(name)) == name


def test_hook_payloads_cover_the_used_hooks() -> None:
    """Every hook the shim types is a real host hook name."""
    assert set(shim.HOOK_PAYLOADS) <= set(shim.HOOK_NAMES)
    assert shim.OPENCLAW_VERSION == "2026.9.6"
