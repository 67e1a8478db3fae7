"""Optional background probes (``probeIntervalS`` > 0) of cooled and idle candidates.

Targets: candidates cooling for a provider-side reason (server errors, timeouts, overload,
empty answers: faults that heal by themselves) and candidates nobody used within the interval.
Rate limits, auth and billing are left to their cooldowns: the provider said when, or a key
must change. A probe that answers clears the probed candidate's and key's cooldown and sets
``last_good_at`` (the same ``record_success`` as a real answer); every probe is audited and
counted. A failed probe changes no state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from .._model import Candidate, Route, RouteTable
from .._ordering import key_model_key, model_key, profile_key
from .._policy import record_success
from .._ports import EMPTY_HEALTH, AuditRecord, Health, StateStore
from .._probe import ProbeResult, probe_table
from .._status import candidate_keys
from ._runtime import ProxyRuntime, log

#: Cooldown reasons a background probe may end early (provider-side, self-healing).
PROBED_REASONS = frozenset({"server_error", "overloaded", "timeout", "empty_response", "unknown"})


def _distinct(table: RouteTable) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for route in table.routes.values():
        for c in route.candidates:
            seen.setdefault(c.ref, c)
    return list(seen.values())


def probe_targets(
    table: RouteTable, snapshot: Mapping[str, Health], *, now: float, idle_s: float
) -> list[Candidate]:
    """Candidates cooling for a self-healing reason, or unused for ``idle_s``."""
    targets = []
    for c in _distinct(table):
        keys = [k for ks in candidate_keys(c, table.providers[c.provider]).values() for k in ks]
        healths = [snapshot[k] for k in keys if k in snapshot]
        cooling = [h for h in healths if h.cooldown_until > now]
        if cooling:
            if all(h.cooldown_reason in PROBED_REASONS for h in cooling):
                targets.append(c)
            continue
        last_used = max((h.last_used_at for h in healths), default=0.0)
        if now - last_used >= idle_s:
            targets.append(c)
    return targets


def _all_keys(table: RouteTable) -> list[str]:
    keys: set[str] = set()
    for c in _distinct(table):
        for group in candidate_keys(c, table.providers[c.provider]).values():
            keys.update(group)
    return sorted(keys)


def _success_keys(table: RouteTable, result: ProbeResult) -> list[str]:
    provider_id, _, model = result.candidate.partition("/")
    keys = [model_key(Candidate(provider_id, model))]
    for profile in table.providers[provider_id].profiles:
        if profile.id == result.profile:
            keys += [profile_key(profile), key_model_key(profile, model)]
    return keys


async def _record(
    runtime: ProxyRuntime, store: StateStore, table: RouteTable, result: ProbeResult
) -> None:
    """Record one result against ``table``, the table the probe ran with: a reload during
    the round may have dropped its provider or replaced its key (state is keyed by both)."""
    now = runtime.clock.now()
    if result.ok:
        for key in _success_keys(table, result):
            await store.update(key, lambda h: record_success(h or EMPTY_HEALTH, now))
    provider, _, model = result.candidate.partition("/")
    runtime.metrics.probes.labels(provider, model, result.verdict).inc()
    runtime.emit(
        AuditRecord(
            event="probe",
            ts=now,
            instance=runtime.instance,
            route_version=table.version,
            provider=provider,
            model=model,
            profile=result.profile,
            status=result.status,
            reason=None if result.ok else result.verdict,
            outcome="ok" if result.ok else "failed",
            latency_ms=result.latency_ms,
            detail=result.detail or None,
        )
    )


async def probe_once(runtime: ProxyRuntime, *, interval_s: float) -> list[ProbeResult]:
    """Probe the current targets once and record the results."""
    store, transports = runtime.store, runtime.transports
    if store is None or transports is None:
        return []
    table = runtime.require_engine().table
    snapshot = await store.snapshot(_all_keys(table))
    targets = probe_targets(table, snapshot, now=runtime.clock.now(), idle_s=interval_s)
    if not targets:
        return []
    sub = RouteTable(routes={"probe": Route("probe", tuple(targets))}, providers=table.providers)
    results = await probe_table(sub, transports=transports, timeout_s=min(15.0, interval_s))
    for result in results:
        await _record(runtime, store, table, result)
    return results


async def run_probes(runtime: ProxyRuntime) -> None:
    """Probe every ``probeIntervalS`` until cancelled (the interval follows reloads)."""
    while True:
        interval = runtime.require_engine().table.settings.probe_interval_s
        await asyncio.sleep(interval if interval > 0 else 60.0)
        if interval <= 0:
            continue
        try:
            await probe_once(runtime, interval_s=interval)
        except Exception as exc:  # a probe round must never end the loop
            log.warning("background probe round failed: %s", type(exc).__name__)
