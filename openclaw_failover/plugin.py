"""The OpenClaw plugin, in Python against the vendored SDK shim: ``register(api)``.

Hooks (plugin mode): ``before_model_resolve`` steers a turn away from a candidate the shared
state knows is cooling; ``model_call_started``/``model_call_ended`` record attempts and cool
candidates by the core policy; ``agent_end`` writes each run's one outcome line (``_plugin_runs``);
``before_tool_call`` and ``before_prompt_build`` keep high-risk tools off while a local-tier model
answers. In both modes: the read-only ``failover_status``
tool and ``openclaw failover ...`` commands. The JS bridge forwards the host's hooks here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ._model import FailureReason, RouteTable
from ._ordering import model_key
from ._plugin_guard import ToolGuard, provider_id
from ._plugin_runs import RunLedger, RunOutcome
from ._plugin_status import CandidateView, candidate_views, describe_status, state_keys
from ._policy import decide_cooldown, record_success
from ._ports import EMPTY_HEALTH, AuditRecord, AuditSink, Clock, Health, StateStore
from ._vendor import openclaw_sdk_shim as shim

#: model_call_ended.failureKind -> reason (no HTTP status on the plugin path).
FAILURE_KIND_REASONS: Mapping[str, FailureReason] = {
    "timeout": FailureReason.TIMEOUT,
    "connection_closed": FailureReason.SERVER_ERROR,
    "connection_reset": FailureReason.SERVER_ERROR,
    "terminated": FailureReason.SERVER_ERROR,
}

#: ``openclaw failover <path>`` -> ``openclaw-failover <argv>``.
CLI_COMMANDS: tuple[shim.CliCommand, ...] = (
    shim.CliCommand(("validate",), "Validate the failover config", ("validate",)),
    shim.CliCommand(("status",), "Show chain health, cooldowns and tiers", ("status",)),
    shim.CliCommand(("cooldowns", "clear"), "Clear cooldowns", ("cooldowns", "clear")),
    shim.CliCommand(("probe",), "Probe providers with a minimal request", ("probe",)),
    shim.CliCommand(("doctor",), "Check config, keys, state and wiring", ("doctor",)),
    shim.CliCommand(("report",), "Summarise the audit log", ("report",)),
)

STATUS_TOOL_PARAMETERS: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"route": {"type": "string", "description": "Route name; default auto."}},
}

T = TypeVar("T")


def reason_for(event: shim.ModelCallEndedEvent) -> FailureReason | None:
    """The reason an ended call failed, or None when it succeeded or the caller aborted it."""
    if event.outcome != "error" or event.failure_kind == "aborted":
        return None
    return FAILURE_KIND_REASONS.get(event.failure_kind or "", FailureReason.UNKNOWN)


def _trace_id(extra: Mapping[str, Any]) -> str | None:
    """The W3C trace id OpenClaw puts in a hook ctx (``trace.traceId``), if any."""
    trace = extra.get("trace")
    value = trace.get("traceId") if isinstance(trace, Mapping) else None
    return value if isinstance(value, str) else None


def _strict_pick(ctx: shim.AgentContext) -> bool:
    """The bridge marks a user's strict pick (``--model``, ``/model``, a locked session)."""
    marks = ctx.extra.get("openclawFailover")
    return isinstance(marks, Mapping) and bool(marks.get("strictPick"))


class FailoverPlugin:
    """The plugin's state and hook handlers; the shell (sidecar) injects store, audit, clock."""

    def __init__(
        self,
        table: RouteTable,
        *,
        store: StateStore,
        audit: AuditSink,
        clock: Clock,
        instance: str = "plugin",
        secrets: Iterable[str] = (),
    ) -> None:
        self.table = table
        self.store = store
        self.audit = audit
        self.clock = clock
        self.instance = instance
        #: Every secret value the config knows of (``config._redact.known_secrets``), masked in
        #: whatever the plugin shows: the status tool's answer, the sidecar's errors and logs.
        self.secrets = frozenset(secrets)
        self.guard = ToolGuard(table)
        self.runs = RunLedger(table)

    def scrub(self, value: T) -> T:
        """``value`` (text or JSON-like) with every known secret, key-shaped token and URL
        password masked: an error or a stored reason may quote what an upstream echoed."""
        from .config._redact import scrub_text, scrub_tree  # the config layer, loaded on use

        if isinstance(value, str):
            return scrub_text(value, self.secrets)  # type: ignore[return-value]
        return scrub_tree(value, self.secrets)  # type: ignore[no-any-return]

    def _record(self, event: str, **fields: Any) -> None:
        self.audit.emit(
            AuditRecord(
                event=event,
                ts=self.clock.now(),
                instance=self.instance,
                route_version=self.table.version,
                config_path=self.table.config_path,
                **fields,
            )
        )

    def _outcome(self, done: RunOutcome) -> None:
        """A run's one outcome line, with what the proxy's carry (attempts, route version)."""
        where = done.candidate
        self.audit.emit(
            AuditRecord(
                event="outcome",
                ts=done.at,
                request_id=done.run_id,
                trace_id=done.trace_id,
                session_id=done.session_id,
                instance=self.instance,
                route_version=self.table.version,
                config_path=self.table.config_path,
                provider=where.provider if where else None,
                model=where.model if where else None,
                tier=where.tier.value if where else None,
                attempt=done.attempts,
                reason=done.reason,
                outcome=done.outcome,
                latency_ms=done.latency_ms,
                downgraded=done.downgraded,
            )
        )

    def flush_runs(self, *, stopping: bool = False) -> int:
        """Write the hard stops of runs that ended unanswered past the grace (all of them when
        ``stopping``: the sidecar is going away, so no later pass can answer them)."""
        done = self.runs.drain() if stopping else self.runs.due(self.clock.now())
        for outcome in done:
            self._outcome(outcome)
        return len(done)

    async def _views(self, route: str = "auto") -> list[CandidateView]:
        """Each candidate of ``route`` with its state as the engine sees it."""
        keys = state_keys(self.table, route)
        health = await self.store.snapshot(keys) if keys else {}
        return candidate_views(self.table, route, health, self.clock.now())

    async def before_model_resolve(
        self, event: shim.BeforeModelResolveEvent, ctx: shim.AgentContext
    ) -> shim.BeforeModelResolveResult | None:
        """Steer to the first usable candidate at or after the selected one; never a strict pick."""
        del event
        self.runs.resume(ctx.run_id)  # a run's next pass begins
        if _strict_pick(ctx) or not (ctx.model_provider_id and ctx.model_id):
            return None
        # OpenClaw lower-cases provider ids: ``LMStudio`` in the chain is ``lmstudio`` here.
        selected = (provider_id(ctx.model_provider_id), ctx.model_id)
        views = await self._views()
        refs = [(provider_id(v.candidate.provider), v.candidate.model) for v in views]
        if selected not in refs:
            return None  # outside our chain: an agent's own model or a user's pick
        start = refs.index(selected)
        for index in range(start, len(views)):
            if not views[index].usable:
                continue
            if index == start:
                return None
            candidate, passed = views[index].candidate, views[start]
            self._record(
                "skip",
                request_id=ctx.run_id or "",
                trace_id=_trace_id(ctx.extra),
                session_id=ctx.session_id,
                provider=passed.candidate.provider,
                model=passed.candidate.model,
                tier=passed.candidate.tier.value,
                reason=passed.reason,
                cooldown_until=passed.until or None,
                detail=f"steered to {candidate.ref}",
            )
            return shim.BeforeModelResolveResult(
                provider_override=candidate.provider, model_override=candidate.model
            )
        return None  # every later candidate is cooling: let OpenClaw try its own choice

    async def model_call_started(
        self, event: shim.ModelCallStartedEvent, ctx: shim.AgentContext
    ) -> None:
        """Remember which model this run is calling (the tool guard needs it)."""
        self.flush_runs()
        self.guard.note_model(event.run_id, event.provider, event.model)
        self.runs.call_started(
            event.run_id, self.clock.now(), session_id=event.session_id or ctx.session_id
        )

    async def model_call_ended(
        self, event: shim.ModelCallEndedEvent, ctx: shim.AgentContext
    ) -> None:
        """Record the attempt (an attempt line, never the run's outcome: that waits for
        ``agent_end``); a success resets the model's counters, a failure cools it."""
        candidate = self.guard.note_ended(event.run_id, event.provider, event.model)
        reason = reason_for(event)
        now = self.clock.now()
        number = self.runs.call_ended(
            event.run_id,
            candidate,
            completed=event.outcome == "completed",
            reason=reason.value if reason else None,
            now=now,
        )
        settings = self.table.settings
        if event.outcome == "completed":
            await self.store.update(
                model_key(candidate), lambda h: record_success(h or EMPTY_HEALTH, now)
            )
        elif reason is not None:
            rule = settings.cooldowns[reason]

            def cool(health: Health | None) -> Health:
                return decide_cooldown(
                    health or EMPTY_HEALTH,
                    reason,
                    rule=rule,
                    retry_after_s=None,
                    now=now,
                    failure_window_s=settings.failure_window_s,
                )

            stored = await self.store.update(model_key(candidate), cool)
            if stored is not None and stored.cooldown_until > now:
                self._record(
                    "cooldown_set",
                    request_id=event.run_id,
                    session_id=event.session_id or ctx.session_id,
                    provider=candidate.provider,
                    model=candidate.model,
                    tier=candidate.tier.value,
                    reason=reason.value,
                    cooldown_until=stored.cooldown_until,
                )
        self._record(
            "attempt",
            request_id=event.run_id,
            trace_id=_trace_id(ctx.extra),
            session_id=event.session_id or ctx.session_id,
            provider=candidate.provider,
            model=candidate.model,
            tier=candidate.tier.value,
            attempt=number,
            reason=reason.value if reason else None,
            outcome=event.outcome,
            latency_ms=event.duration_ms,
            ttfb_ms=event.time_to_first_byte_ms,
            failure_kind=event.failure_kind,
        )

    async def agent_end(self, event: shim.AgentEndEvent, ctx: shim.AgentContext) -> None:
        """One pass of a run ended: write the run's outcome when its last call answered; a
        pass without an answer leaves the run ending (a hard stop unless a call follows)."""
        now = self.clock.now()
        self.flush_runs()
        done = self.runs.agent_end(
            event.run_id or ctx.run_id or "",
            success=event.success,
            duration_ms=event.duration_ms,
            now=now,
            session_id=ctx.session_id,
            trace_id=_trace_id(ctx.extra),
        )
        if done is not None:
            self._outcome(done)

    async def before_tool_call(
        self, event: shim.BeforeToolCallEvent, ctx: shim.ToolContext
    ) -> shim.BeforeToolCallResult | None:
        """Block high-risk tools while the run's model is local-tier (or unknown, fail safe)."""
        run_id = event.run_id or ctx.run_id
        decision = self.guard.decide(run_id, event.tool_name, event.params)
        if not decision.block:
            return None
        where = decision.candidate
        self._record(
            "tool_blocked",
            request_id=run_id or "",
            trace_id=_trace_id(ctx.extra),
            session_id=ctx.session_id,
            provider=where.provider if where else None,
            model=where.model if where else None,
            tier=where.tier.value if where else None,
            tools_blocked=(decision.tool,),
        )
        return shim.BeforeToolCallResult(block=True, block_reason=decision.reason)

    async def before_prompt_build(
        self, event: shim.BeforePromptBuildEvent, ctx: shim.AgentContext
    ) -> shim.BeforePromptBuildResult | None:
        """On the local tier, offer only the tools outside the high-risk set (``toolsAllow``)."""
        del event
        self.runs.resume(ctx.run_id)
        # The ctx names the model this pass is built for; the run's remembered model may be
        # an earlier pass's (OpenClaw runs the hooks again for each fallback candidate).
        current = self.guard.current(ctx.run_id)
        if ctx.model_provider_id and ctx.model_id:
            if current is None:
                current = self.guard.note_model(
                    ctx.run_id or "", ctx.model_provider_id, ctx.model_id
                )
            else:
                current = self.guard.candidate(ctx.model_provider_id, ctx.model_id)
        if current is None or current.tier.value != "local":
            return None
        allow = self.guard.tools_allow()
        self._record(
            "tool_blocked",
            request_id=ctx.run_id or "",
            trace_id=_trace_id(ctx.extra),
            session_id=ctx.session_id,
            provider=current.provider,
            model=current.model,
            tier=current.tier.value,
            tools_blocked=self.guard.withheld(allow),
            detail="left out of the offer",
        )
        return shim.BeforePromptBuildResult(tools_allow=allow)

    async def failover_status(
        self, tool_call_id: str, params: Mapping[str, Any]
    ) -> shim.ToolResult:
        """The read-only status tool: chain, tiers, cooldowns, and the local-tier tool policy."""
        del tool_call_id
        route = str(params.get("route") or "auto")
        text, details = describe_status(
            self.table,
            route=route,
            views=await self._views(route),
            now=self.clock.now(),
            high_risk=self.guard.high_risk,
        )
        # A stored reason comes from a shared store and the route from the model: either may
        # quote a key, so the answer the model and the user read is masked as a whole.
        return shim.ToolResult(text=self.scrub(text), details=self.scrub(details))


def register(api: shim.PluginApi, plugin: FailoverPlugin | None = None) -> FailoverPlugin:
    """Register the plugin's hooks, tool and CLI with ``api`` (model hooks in plugin mode only).

    Without ``plugin``, one is built from the environment's config (``_sidecar.build_plugin``).
    """
    if plugin is None:
        from ._sidecar import build_plugin

        plugin = build_plugin(environ=os.environ)
    if plugin.table.settings.mode == "plugin":
        api.on("before_model_resolve", plugin.before_model_resolve)
        api.on("model_call_started", plugin.model_call_started)
        api.on("model_call_ended", plugin.model_call_ended)
        api.on("before_tool_call", plugin.before_tool_call, priority=100)
        api.on("before_prompt_build", plugin.before_prompt_build)
        api.on("agent_end", plugin.agent_end)
    api.register_tool(
        shim.ToolSpec(
            name="failover_status",
            label="Failover status",
            description=(
                "Read-only: which model tier is answering, which providers are cooling down "
                "and why, and which tools are off on the local tier."
            ),
            parameters=STATUS_TOOL_PARAMETERS,
            execute=plugin.failover_status,
        )
    )
    api.register_cli(
        shim.CliSpec(
            name="failover",
            description="Model failover: status, cooldowns, probes, reports",
            commands=CLI_COMMANDS,
        )
    )
    api.logger.info(f"openclaw-failover: registered ({plugin.table.settings.mode} mode)")
    return plugin
