"""Every hook handler of the Python plugin, driven through the sidecar's wire handler with the
payload shapes captured from real OpenClaw 2026.9.6 (no model in before_tool_call)."""

from __future__ import annotations

from dataclasses import replace

from openclaw_failover._model import Profile, RouteTable, Secret, Tier
from openclaw_failover._ordering import model_key, profile_key
from openclaw_failover._ports import Health
from openclaw_failover._sidecar import Sidecar
from tests.fixtures.plugin_host import (
    FALLBACK,
    LOCAL,
    NOW,
    PRIMARY,
    TRACE,
    DictStore,
    agent_ctx,
    call_event,
    hook,
    make_plugin,
    make_table,
    tool_payloads,
)

COOLING = Health(cooldown_until=NOW + 20, cooldown_reason="rate_limit", last_failure_at=NOW - 10)


def cooling(*candidates: object) -> DictStore:
    """A store where each given candidate is cooling for 20 more seconds."""
    return DictStore({model_key(c): COOLING for c in candidates})  # type: ignore[arg-type]


async def test_steers_away_from_a_cooling_primary() -> None:
    """A cooling primary: the turn is seeded with the first usable fallback, and it is audited."""
    plugin, _, audit, _ = make_plugin(store=cooling(PRIMARY))
    result = await hook(
        Sidecar.create(plugin), "before_model_resolve", {"prompt": "hi"}, agent_ctx()
    )
    assert result == {"providerOverride": FALLBACK.provider, "modelOverride": FALLBACK.model}
    skip = audit.records[-1]
    assert (skip.event, skip.provider, skip.reason) == ("skip", PRIMARY.provider, "rate_limit")
    assert skip.request_id == "run-1"


async def test_healthy_selection_is_left_alone() -> None:
    """A healthy selected model gets no override."""
    plugin, _, audit, _ = make_plugin()
    result = await hook(
        Sidecar.create(plugin), "before_model_resolve", {"prompt": "hi"}, agent_ctx()
    )
    assert result is None
    assert audit.records == []


async def test_strict_pick_is_never_overridden() -> None:
    """A strict user pick (marked by the bridge) is left alone even when it is cooling."""
    plugin, _, _, _ = make_plugin(store=cooling(PRIMARY))
    ctx = agent_ctx(openclawFailover={"strictPick": True})
    assert await hook(Sidecar.create(plugin), "before_model_resolve", {"prompt": "x"}, ctx) is None


async def test_model_outside_the_chain_is_left_alone() -> None:
    """A model that is not in our chain (an agent's own or a user's) is never steered."""
    plugin, _, _, _ = make_plugin(store=cooling(PRIMARY))
    ctx = agent_ctx(None, modelProviderId="mistral", modelId="large")
    assert await hook(Sidecar.create(plugin), "before_model_resolve", {"prompt": "x"}, ctx) is None


async def test_fallback_pass_never_steers_back_to_the_primary() -> None:
    """On OpenClaw's fallback pass the plugin only looks forward in the chain."""
    plugin, _, _, _ = make_plugin(store=cooling(PRIMARY))
    ctx = agent_ctx(FALLBACK)
    assert await hook(Sidecar.create(plugin), "before_model_resolve", {"prompt": "x"}, ctx) is None


async def test_skips_several_cooling_candidates_and_banned_ones() -> None:
    """Cooling and banned candidates are passed over; the local tier is the last resort."""
    table = make_table(banned_models=(FALLBACK.ref,))
    plugin, _, _, _ = make_plugin(table, store=cooling(PRIMARY))
    result = await hook(Sidecar.create(plugin), "before_model_resolve", {}, agent_ctx())
    assert result == {"providerOverride": "ollama", "modelOverride": "qwen3:8b"}


async def test_every_candidate_cooling_leaves_the_choice_to_openclaw() -> None:
    """When nothing later is usable the plugin returns nothing (OpenClaw probes its own way)."""
    plugin, _, _, _ = make_plugin(store=cooling(PRIMARY, FALLBACK, LOCAL))
    assert await hook(Sidecar.create(plugin), "before_model_resolve", {}, agent_ctx()) is None


async def test_expired_cooldown_is_usable_again() -> None:
    """Once its cooldown (or disable window) has passed, the primary is selected again."""
    disabled = Health(cooldown_until=NOW + 20, cooldown_reason="billing", disabled=True)
    plugin, _, _, clock = make_plugin(store=DictStore({model_key(PRIMARY): disabled}))
    sidecar = Sidecar.create(plugin)
    assert await hook(sidecar, "before_model_resolve", {}, agent_ctx()) is not None
    clock.t = NOW + 21
    assert await hook(sidecar, "before_model_resolve", {}, agent_ctx()) is None


async def test_timeout_cools_the_model_and_is_audited() -> None:
    """A timed-out attempt cools that model by the core policy and writes attempt + cooldown."""
    plugin, store, audit, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    await hook(sidecar, "model_call_started", call_event(PRIMARY), agent_ctx())
    ended = call_event(
        PRIMARY, durationMs=30001, outcome="error", errorCategory="Error", failureKind="timeout"
    )
    await hook(sidecar, "model_call_ended", ended, agent_ctx())
    health = store.data[model_key(PRIMARY)]
    assert health.cooldown_until > NOW
    assert health.cooldown_reason == "timeout"
    assert audit.events() == ["cooldown_set", "attempt"]
    attempt = audit.records[-1]
    assert (attempt.outcome, attempt.failure_kind, attempt.latency_ms) == (
        "error",
        "timeout",
        30001,
    )
    assert attempt.route_version == "rv-test"
    assert attempt.trace_id == TRACE["traceId"]
    assert (attempt.request_id, attempt.session_id) == ("run-1", "s1")


async def test_connection_reset_counts_as_server_error() -> None:
    """A connection failure cools the model as a server error."""
    plugin, store, _, _ = make_plugin()
    ended = call_event(FALLBACK, durationMs=5, outcome="error", failureKind="connection_reset")
    await hook(Sidecar.create(plugin), "model_call_ended", ended, agent_ctx(FALLBACK))
    assert store.data[model_key(FALLBACK)].cooldown_reason == "server_error"


async def test_plain_error_cools_as_unknown_and_abort_does_not_cool() -> None:
    """An error without failure kind cools as unknown; a caller abort cools nothing."""
    plugin, store, audit, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    err = call_event(PRIMARY, durationMs=9, outcome="error", errorCategory="Error")
    await hook(sidecar, "model_call_ended", err, agent_ctx())
    assert store.data[model_key(PRIMARY)].cooldown_reason == "unknown"
    aborted = call_event(FALLBACK, durationMs=9, outcome="error", failureKind="aborted")
    await hook(sidecar, "model_call_ended", aborted, agent_ctx())
    assert model_key(FALLBACK) not in store.data
    assert audit.records[-1].event == "attempt"


async def test_success_resets_the_failure_counters() -> None:
    """A completed call records success, clearing the model's failure counts."""
    start = Health(failure_counts={"timeout": 2}, last_failure_at=NOW - 100)
    plugin, store, _, _ = make_plugin(store=DictStore({model_key(PRIMARY): start}))
    done = call_event(PRIMARY, durationMs=800, outcome="completed", timeToFirstByteMs=120)
    await hook(Sidecar.create(plugin), "model_call_ended", done, agent_ctx())
    health = store.data[model_key(PRIMARY)]
    assert dict(health.failure_counts) == {}
    assert health.last_good_at == NOW


async def test_blocks_high_risk_tools_on_the_local_tier() -> None:
    """With a local-tier model on the run, exec is blocked with a reason naming the model."""
    plugin, _, audit, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    await hook(sidecar, "model_call_started", call_event(LOCAL), agent_ctx(LOCAL))
    event, ctx = tool_payloads("exec", {"command": "echo hi > probe.txt"})
    result = await hook(sidecar, "before_tool_call", event, ctx)
    assert result["block"] is True
    assert "ollama/qwen3:8b" in result["blockReason"]
    blocked = audit.records[-1]
    assert (blocked.event, blocked.tools_blocked, blocked.tier) == (
        "tool_blocked",
        ("exec",),
        "local",
    )


async def test_low_risk_tools_pass_on_the_local_tier() -> None:
    """read is not high-risk and passes on the local tier."""
    plugin, _, _, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    await hook(sidecar, "model_call_started", call_event(LOCAL), agent_ctx(LOCAL))
    event, ctx = tool_payloads("read", {"path": "README.md"})
    assert await hook(sidecar, "before_tool_call", event, ctx) is None


async def test_deferred_high_risk_tool_through_tool_call_is_blocked() -> None:
    """tool_call {id: terminal} is blocked on the local tier (deferred tools are guarded too)."""
    plugin, _, _, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    await hook(sidecar, "model_call_started", call_event(LOCAL), agent_ctx(LOCAL))
    event, ctx = tool_payloads("tool_call", {"id": "terminal", "args": {"command": "ls"}})
    assert (await hook(sidecar, "before_tool_call", event, ctx))["block"] is True


async def test_cloud_tier_runs_keep_their_tools() -> None:
    """The guard is tier-specific: the same exec passes on a cloud model."""
    plugin, _, _, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    await hook(sidecar, "model_call_started", call_event(PRIMARY), agent_ctx())
    event, ctx = tool_payloads("exec", {"command": "ls"})
    assert await hook(sidecar, "before_tool_call", event, ctx) is None


async def test_unknown_run_with_a_local_tier_fails_safe() -> None:
    """No model_call_started seen for the run and a local tier in the chain: exec is blocked."""
    plugin, _, _, _ = make_plugin()
    event, ctx = tool_payloads("exec", {"command": "ls"}, run="never-seen")
    result = await hook(Sidecar.create(plugin), "before_tool_call", event, ctx)
    assert result["block"] is True
    assert "unknown" in result["blockReason"]


async def test_unknown_run_without_a_local_tier_passes() -> None:
    """Without a local tier in the chain, an unknown run's tools pass."""
    plugin, _, _, _ = make_plugin(make_table(chain=(PRIMARY, FALLBACK)))
    event, ctx = tool_payloads("exec", {"command": "ls"}, run="never-seen")
    assert await hook(Sidecar.create(plugin), "before_tool_call", event, ctx) is None


async def test_prompt_build_narrows_tools_on_the_local_tier_only() -> None:
    """before_prompt_build offers no high-risk tool on the local tier, audits what it withheld."""
    plugin, _, audit, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    event = {"prompt": "hi", "messages": []}
    local = await hook(sidecar, "before_prompt_build", event, agent_ctx(LOCAL, runId="run-L"))
    allowed = set(local["toolsAllow"])
    assert {"read", "ls", "failover_status"} <= allowed
    assert not allowed & {"exec", "write", "edit", "apply_patch", "process", "openclaw"}
    withheld = audit.records[-1]
    assert (withheld.event, withheld.tier) == ("tool_blocked", "local")
    assert withheld.request_id == "run-L"
    assert {"exec", "write"} <= set(withheld.tools_blocked)
    assert not set(withheld.tools_blocked) & allowed
    assert await hook(sidecar, "before_prompt_build", event, agent_ctx(PRIMARY)) is None
    assert len(audit.records) == 1


async def test_allow_on_local_is_honoured() -> None:
    """tools.allowOnLocal lets an operator keep one high-risk tool on the local tier."""
    from dataclasses import replace

    from openclaw_failover._model import ToolSettings

    table = make_table(tools=replace(ToolSettings(), allow_on_local=("edit",)))
    plugin, _, _, _ = make_plugin(table)
    sidecar = Sidecar.create(plugin)
    await hook(sidecar, "model_call_started", call_event(LOCAL), agent_ctx(LOCAL))
    event, ctx = tool_payloads("edit", {"path": "a", "edits": []})
    assert await hook(sidecar, "before_tool_call", event, ctx) is None
    assert "edit" in plugin.guard.tools_allow()


async def test_status_tool_explains_the_tier() -> None:
    """failover_status names the cooling primary, its reason, and the active fallback."""
    plugin, _, _, _ = make_plugin(store=cooling(PRIMARY))
    reply = await Sidecar.create(plugin).handle(
        {"id": 7, "op": "tool", "name": "failover_status", "toolCallId": "t1", "params": {}}
    )
    text = reply["result"]["content"][0]["text"]
    details = reply["result"]["details"]
    assert "cooling" in text
    assert "rate_limit" in text
    assert f"Downgraded: {FALLBACK.ref}" in text
    assert details["active"] == FALLBACK.ref
    assert details["candidates"][0]["state"] == "cooling"


async def test_status_tool_on_the_local_tier_lists_blocked_tools() -> None:
    """When only the local tier is usable, the status says so and lists the blocked tools."""
    plugin, _, _, _ = make_plugin(store=cooling(PRIMARY, FALLBACK))
    result = await plugin.failover_status("t", {})
    assert "LOCAL tier" in result.text
    assert "exec" in result.text
    assert result.details["activeTier"] == Tier.LOCAL.value


def _with_keys(count: int) -> tuple[RouteTable, tuple[Profile, ...]]:
    """The default table with ``count`` resolved keys on the primary's provider."""
    profiles = tuple(
        Profile(
            f"anthropic:{i}", "anthropic", Secret(f"sk-test-{i}"), "config", fingerprint=f"f{i}"
        )
        for i in range(count)
    )
    table = make_table()
    provider = replace(table.providers["anthropic"], profiles=profiles)
    return replace(table, providers={**table.providers, "anthropic": provider}), profiles


async def test_every_key_cooling_makes_the_candidate_cooling() -> None:
    """With all its keys cooling (auth), the primary is steered past, as the engine would."""
    table, profiles = _with_keys(2)
    auth = Health(cooldown_until=NOW + 300, cooldown_reason="auth", last_failure_at=NOW)
    plugin, _, audit, _ = make_plugin(table, DictStore({profile_key(p): auth for p in profiles}))
    result = await hook(Sidecar.create(plugin), "before_model_resolve", {}, agent_ctx())
    assert result == {"providerOverride": FALLBACK.provider, "modelOverride": FALLBACK.model}
    assert audit.records[-1].reason == "auth"


async def test_one_usable_key_keeps_the_candidate() -> None:
    """One cooling key out of two leaves the primary usable (the engine rotates keys)."""
    table, profiles = _with_keys(2)
    auth = Health(cooldown_until=NOW + 300, cooldown_reason="auth", last_failure_at=NOW)
    plugin, _, _, _ = make_plugin(table, DictStore({profile_key(profiles[0]): auth}))
    assert await hook(Sidecar.create(plugin), "before_model_resolve", {}, agent_ctx()) is None
    assert "sk-test" not in repr(await plugin.failover_status("t", {}))
