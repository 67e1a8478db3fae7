"""Optional background probes (``probeIntervalS`` > 0) of cooled and idle candidates."""

from __future__ import annotations

import asyncio
from typing import Any

from .._model import Candidate
from ._runtime import ProxyRuntime, log


def probe_targets(runtime: ProxyRuntime, snapshot: Any) -> list[Candidate]:
    """Every distinct candidate of every route that the snapshot shows cooling or idle."""
    table = runtime.require_engine().table
    seen: set[str] = set()
    targets = []
    for route in table.routes.values():
        for c in route.candidates:
            if c.ref in seen:
                continue
            seen.add(c.ref)
            entry = snapshot.get(c.ref) if hasattr(snapshot, "get") else None
            if entry is None or not _get(entry, "healthy", True) or _get(entry, "idle", False):
                targets.append(c)
    return targets


def _get(entry: Any, name: str, default: bool) -> bool:
    if hasattr(entry, "get"):
        return bool(entry.get(name, default))
    return bool(getattr(entry, name, default))


async def probe_once(runtime: ProxyRuntime) -> int:
    """Probe each target once through ``engine.probe(candidate)``; return how many ran."""
    engine = runtime.require_engine()
    probe = getattr(engine, "probe", None)
    snap_fn = getattr(engine, "health_snapshot", None)
    if probe is None or snap_fn is None:
        return 0
    snapshot = snap_fn()
    if asyncio.iscoroutine(snapshot):
        snapshot = await snapshot
    ran = 0
    for candidate in probe_targets(runtime, snapshot):
        try:
            result = await probe(candidate)
            ok = bool(_get(result, "ok", bool(result)))
        except Exception as exc:  # a probe failure is data, never a crash of the loop
            log.info("probe of %s failed: %s", candidate.ref, type(exc).__name__)
            ok = False
        runtime.metrics.probes.labels(
            candidate.provider, candidate.model, "ok" if ok else "failed"
        ).inc()
        ran += 1
    return ran


async def run_probes(runtime: ProxyRuntime) -> None:
    """Probe every ``probeIntervalS`` until cancelled (the interval follows reloads)."""
    while True:
        interval = runtime.require_engine().table.settings.probe_interval_s
        await asyncio.sleep(interval if interval > 0 else 60.0)
        if interval > 0:
            await probe_once(runtime)
