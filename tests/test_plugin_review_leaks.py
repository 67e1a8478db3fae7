"""What the plugin path writes about a blocked tool call: the policy's word for the tool, never
the model's raw tool name (model text, which may carry a key it read)."""

from __future__ import annotations

import pytest

from openclaw_failover._sidecar import Sidecar
from tests.fixtures.plugin_host import (
    LOCAL,
    agent_ctx,
    call_event,
    hook,
    make_plugin,
    tool_payloads,
)

SECRET = "sk-ant-api03-SECRETSECRETSECRET"


@pytest.mark.parametrize("run", ["run-1", "never-seen"])
async def test_a_blocked_call_is_named_by_the_policy_word_in_audit_and_refusal(run: str) -> None:
    """``functions.exec <key>`` is blocked as ``exec``: neither the audit line nor the refusal
    the model reads repeats the raw name (local run, and unknown run failing safe)."""
    plugin, _, audit, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    await hook(sidecar, "model_call_started", call_event(LOCAL), agent_ctx(LOCAL))
    event, ctx = tool_payloads(f"functions.exec {SECRET}", {"command": "ls"}, run=run)
    result = await hook(sidecar, "before_tool_call", event, ctx)
    assert result["block"] is True
    assert "blocked exec:" in result["blockReason"]
    assert SECRET not in result["blockReason"]
    record = audit.records[-1]
    assert (record.event, record.tools_blocked) == ("tool_blocked", ("exec",))
    assert SECRET not in repr(record)
