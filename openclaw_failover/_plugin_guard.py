"""The plugin path's tool guard: which run uses which model, and what that run may call.

OpenClaw 2026.9.6's ``before_tool_call`` ctx carries no model, so the plugin remembers
``runId -> candidate`` from ``model_call_started``. A run whose model is unknown is treated as
local when the chain has a local tier (fail safe). The high-risk list is the core's
(``_toolpolicy``); this module only decides *when* it applies and exports it for the JS bridge.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._model import Candidate, RouteTable, Tier
from ._toolpolicy import blocked_name, expand_tools, high_risk_set

#: Tools OpenClaw 2026.9.6 offers directly (reference/openclaw-live.md 5.2), plus our status tool.
#: ``toolsAllow`` on the local tier is this offer minus the high-risk set.
HOST_TOOL_OFFER: tuple[str, ...] = (
    "apply_patch",
    "edit",
    "exec",
    "ls",
    "openclaw",
    "process",
    "read",
    "sessions_yield",
    "tool_call",
    "tool_describe",
    "tool_search",
    "write",
    "failover_status",
)

_MAX_RUNS = 4096


def provider_id(provider: str) -> str:
    """A provider id as OpenClaw 2026.9.6 compares it: trimmed and lower-cased
    (``normalizeProviderId`` in its dist), so ``LMStudio`` in the config is ``lmstudio`` in a
    hook."""
    return provider.strip().lower()


def tier_of(table: RouteTable, provider: str, model: str) -> Tier:
    """The tier of ``provider/model`` as a hook spells it (OpenClaw lower-cases provider ids).

    The listed tier when a chain lists the model under that provider; else local when the
    provider has a local candidate (a model spelled differently, ``qwen3:latest`` for
    ``qwen3``), or when it speaks the Ollama API (``ollama``, OpenClaw's bundled Ollama
    provider, counts even when not configured). A spelling difference can only make a run
    local, never cloud.
    """
    pid = provider_id(provider)
    same = [
        c for r in table.routes.values() for c in r.candidates if provider_id(c.provider) == pid
    ]
    listed = {c.tier for c in same if c.model == model.strip()}
    if listed:
        return Tier.LOCAL if Tier.LOCAL in listed else Tier.CLOUD
    if any(c.tier is Tier.LOCAL for c in same):
        return Tier.LOCAL
    apis = {spec.api for key, spec in table.providers.items() if provider_id(key) == pid}
    return Tier.LOCAL if "ollama" in apis or (not apis and pid == "ollama") else Tier.CLOUD


def chain_has_local(table: RouteTable) -> bool:
    """True when any route reaches a local-tier candidate."""
    return any(c.tier is Tier.LOCAL for r in table.routes.values() for c in r.candidates)


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """Whether to block one tool call, and the reason the model will read."""

    block: bool
    reason: str = ""
    candidate: Candidate | None = None
    #: The blocked tool by the policy's word, never the model's raw text.
    tool: str = ""


class ToolGuard:
    """Remembers each run's current model and blocks high-risk tools on the local tier."""

    def __init__(self, table: RouteTable) -> None:
        self._table = table
        self._runs: OrderedDict[str, Candidate] = OrderedDict()
        self.high_risk: frozenset[str] = high_risk_set(table.settings.tools)

    def replace_table(self, table: RouteTable) -> None:
        """Use a reloaded route table (the run map is kept)."""
        self._table = table
        self.high_risk = high_risk_set(table.settings.tools)

    def candidate(self, provider: str, model: str) -> Candidate:
        """``provider/model`` with its tier, recorded nowhere."""
        return Candidate(provider, model, tier_of(self._table, provider, model))

    def note_ended(self, run_id: str, provider: str, model: str) -> Candidate:
        """A call of the run ended: it names the run's model only if none is known, or if it
        is local. A late end of an earlier cloud call never unblocks a run that has moved to
        the local tier since; a missed start of a local call still blocks."""
        candidate = self.candidate(provider, model)
        if candidate.tier is Tier.LOCAL or self.current(run_id) is None:
            self._remember(run_id, candidate)
        return candidate

    def note_model(self, run_id: str, provider: str, model: str) -> Candidate:
        """Record the model a run is calling now; returns it with its tier."""
        candidate = self.candidate(provider, model)
        self._remember(run_id, candidate)
        return candidate

    def _remember(self, run_id: str, candidate: Candidate) -> None:
        self._runs[run_id] = candidate
        self._runs.move_to_end(run_id)
        while len(self._runs) > _MAX_RUNS:
            self._runs.popitem(last=False)

    def current(self, run_id: str | None) -> Candidate | None:
        """The run's current model, if ``model_call_started`` was seen for it."""
        return self._runs.get(run_id) if run_id else None

    def decide(self, run_id: str | None, tool: str, params: Mapping[str, Any]) -> GuardDecision:
        """Block a high-risk tool while the run is on the local tier, or unknown with one.

        The refusal and the audit name the tool by the policy's word (``exec`` for
        ``functions.exec``): the called name is the model's text and may carry a secret.
        """
        candidate = self.current(run_id)
        if candidate is None and not chain_has_local(self._table):
            return GuardDecision(block=False)
        if candidate is not None and candidate.tier is not Tier.LOCAL:
            return GuardDecision(block=False, candidate=candidate)
        word = blocked_name(tool, params, self.high_risk)
        if word is None:
            return GuardDecision(block=False, candidate=candidate)
        if candidate is None:
            return GuardDecision(
                block=True,
                tool=word,
                reason=(
                    f"openclaw-failover blocked {word}: this run's model is unknown and the "
                    "chain has a local tier, so high-risk tools are off (fail safe)."
                ),
            )
        return GuardDecision(
            block=True,
            tool=word,
            candidate=candidate,
            reason=(
                f"openclaw-failover blocked {word}: the local-tier model {candidate.ref} is "
                "answering, and high-risk tools are off on the local tier. Use failover_status "
                "to see why; cloud models will be tried again when their cooldowns end."
            ),
        )

    def tools_allow(self) -> tuple[str, ...]:
        """The tool offer on the local tier: the host's direct tools minus the high-risk set."""
        allow = self._table.settings.tools.allow_on_local
        offer = [t for t in HOST_TOOL_OFFER if t not in self.high_risk or t in allow]
        return tuple(sorted(set(offer) | set(allow)))

    def withheld(self, allow: tuple[str, ...]) -> tuple[str, ...]:
        """The host's direct tools that ``allow`` (a local-tier offer) leaves out."""
        return tuple(sorted(t for t in HOST_TOOL_OFFER if t not in allow))

    def policy(self) -> dict[str, Any]:
        """The policy as data, for the JS bridge's fail-safe when the sidecar does not answer."""
        # The bridge matches provider ids exactly, and OpenClaw reports them lower-cased: each
        # local provider is listed as configured and as OpenClaw spells it.
        local: dict[tuple[str, str], None] = {}
        for c in (c for r in self._table.routes.values() for c in r.candidates):
            if c.tier is Tier.LOCAL:
                local |= dict.fromkeys([(c.provider, c.model), (provider_id(c.provider), c.model)])
        ollama = [p.id for p in self._table.providers.values() if p.api == "ollama"]
        return {
            "highRisk": sorted(self.high_risk),
            "highRiskDeferred": sorted(self._table.settings.tools.high_risk_deferred),
            # The bridge adds tool_search_code to a policy with any high-risk tool unless this
            # names it (a policy file from before that rule blocks it: fail safe).
            "allowOnLocal": sorted(expand_tools(self._table.settings.tools.allow_on_local)),
            "localCandidates": [{"provider": p, "model": m} for p, m in local],
            "localProviders": sorted({*ollama, *map(provider_id, ollama)}),
            "chainHasLocal": chain_has_local(self._table),
            "toolsAllow": list(self.tools_allow()),
        }
