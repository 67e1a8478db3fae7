"""The plugin guard's view of a run over time: a run that fails over from the cloud tier to
the local one mid-run, hook events arriving late, and a fallback pass's prompt build."""

from __future__ import annotations

from typing import Any

from openclaw_failover._sidecar import Sidecar
from tests.fixtures.plugin_host import (
    LOCAL,
    PRIMARY,
    agent_ctx,
    call_event,
    hook,
    make_plugin,
    tool_payloads,
)

ERROR = {"outcome": "error", "durationMs": 900, "errorCategory": "Error"}
DONE = {"outcome": "completed", "durationMs": 300}


async def exec_result(sidecar: Sidecar) -> Any:
    """What before_tool_call answers for an exec on run-1."""
    event, ctx = tool_payloads("exec", {"command": "ls"})
    return await hook(sidecar, "before_tool_call", event, ctx)


async def test_a_run_that_fails_over_to_local_mid_run_has_exec_blocked_from_then_on() -> None:
    """Cloud call fails, the local call starts: exec is blocked, and stays blocked after the
    local call ends."""
    sidecar = Sidecar.create(make_plugin()[0])
    await hook(sidecar, "model_call_started", call_event(PRIMARY), agent_ctx())
    assert await exec_result(sidecar) is None
    await hook(sidecar, "model_call_ended", call_event(PRIMARY, **ERROR), agent_ctx())
    await hook(sidecar, "model_call_started", call_event(LOCAL), agent_ctx(LOCAL))
    assert (await exec_result(sidecar))["block"] is True
    await hook(sidecar, "model_call_ended", call_event(LOCAL, **DONE), agent_ctx(LOCAL))
    assert (await exec_result(sidecar))["block"] is True


async def test_a_late_end_of_the_cloud_call_does_not_unblock_a_local_run() -> None:
    """model_call_ended of the failed cloud call arriving after the local call started (observe
    hooks run concurrently) does not move the run back to the cloud tier."""
    sidecar = Sidecar.create(make_plugin()[0])
    await hook(sidecar, "model_call_started", call_event(PRIMARY), agent_ctx())
    await hook(sidecar, "model_call_started", call_event(LOCAL), agent_ctx(LOCAL))
    await hook(sidecar, "model_call_ended", call_event(PRIMARY, **ERROR), agent_ctx())
    assert (await exec_result(sidecar))["block"] is True


async def test_the_end_of_a_local_call_whose_start_was_missed_blocks() -> None:
    """A local call's end names the run local even when its start was never seen."""
    sidecar = Sidecar.create(make_plugin()[0])
    await hook(sidecar, "model_call_started", call_event(PRIMARY), agent_ctx())
    await hook(sidecar, "model_call_ended", call_event(LOCAL, **DONE), agent_ctx(LOCAL))
    assert (await exec_result(sidecar))["block"] is True


async def test_a_fallback_pass_on_the_local_tier_narrows_the_offer() -> None:
    """OpenClaw runs before_prompt_build again for the local fallback; its ctx names the local
    model, and the run's earlier cloud call must not keep the whole offer."""
    sidecar = Sidecar.create(make_plugin()[0])
    await hook(sidecar, "model_call_started", call_event(PRIMARY), agent_ctx())
    await hook(sidecar, "model_call_ended", call_event(PRIMARY, **ERROR), agent_ctx())
    result = await hook(sidecar, "before_prompt_build", {}, agent_ctx(LOCAL))
    assert result is not None
    assert "exec" not in result["toolsAllow"]
