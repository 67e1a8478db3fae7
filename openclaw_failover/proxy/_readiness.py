"""``/readyz``: ready means a candidate of the default route is healthy or answers a probe.

Health comes from the engine's state snapshot; when no candidate is healthy, one minimal
request goes through the engine (which probes the candidate whose cooldown ends soonest), and
its result is cached for a few seconds so a busy health checker cannot spend tokens.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

from .._errors import FailoverError, StateStoreError
from .._exchange import ChatRequest
from ._request import new_request_id
from ._runtime import ProxyRuntime, log

#: How long one probe's verdict stands before ``/readyz`` may probe again.
PROBE_TTL_S = 5.0
#: A probe must answer quickly: readiness is about now, not about the intent budget.
PROBE_DEADLINE_S = 10.0
_PROBE_BODY: Mapping[str, Any] = {
    "messages": [{"role": "user", "content": "ping"}],
    "max_tokens": 1,
}


def default_route(names: Mapping[str, Any]) -> str | None:
    """``auto`` if present, else the first route."""
    if "auto" in names:
        return "auto"
    return next(iter(names), None)


async def engine_health(runtime: ProxyRuntime) -> Mapping[str, Any] | None:
    """``engine.health_snapshot()`` (sync or async): ``provider/model`` ->
    ``{"healthy", "state", "until"}``; None when the engine has none."""
    snap_fn = getattr(runtime.require_engine(), "health_snapshot", None)
    if snap_fn is None:
        return None
    snapshot = snap_fn()
    if inspect.isawaitable(snapshot):
        snapshot = await snapshot
    return snapshot if isinstance(snapshot, Mapping) else None


async def healthy_candidates(runtime: ProxyRuntime, route: str) -> list[str] | None:
    """Refs of the route's candidates the engine calls usable now, or None when unknown.

    A candidate missing from the snapshot has no state yet, so it counts as healthy.
    """
    snapshot = await engine_health(runtime)
    if snapshot is None:
        return None
    candidates = runtime.require_engine().table.route(route).candidates
    return [c.ref for c in candidates if _is_healthy(snapshot.get(c.ref))]


def _is_healthy(entry: Any) -> bool:
    if entry is None:
        return True
    if isinstance(entry, Mapping):
        return bool(entry.get("healthy", True))
    return bool(getattr(entry, "healthy", True))


class ReadinessCheck:
    """One app's readiness verdicts; keeps the last probe's result for ``PROBE_TTL_S``."""

    def __init__(self, runtime: ProxyRuntime) -> None:
        self._rt = runtime
        self._probed_at = -1e18
        self._probe_ok = False
        self._probe_detail = ""
        self._lock = asyncio.Lock()

    async def probe(self, route: str) -> tuple[bool, str]:
        """Send one minimal request through the engine (at most once per ``PROBE_TTL_S``)."""
        async with self._lock:
            if self._rt.clock.monotonic() - self._probed_at < PROBE_TTL_S:
                return self._probe_ok, self._probe_detail
            request = ChatRequest(
                body=dict(_PROBE_BODY),
                route=route,
                first_token_deadline_s=PROBE_DEADLINE_S,
                # Its own id per probe: an incident lookup by id finds one probe, not all.
                request_id=f"readyz-probe-{new_request_id()}",
            )
            try:
                meta, _ = await self._rt.require_engine().complete(request)
                ok, detail = True, f"probe answered by {meta.provider}/{meta.model}"
            except FailoverError as exc:
                ok, detail = False, f"probe failed: {type(exc).__name__}"
            except Exception as exc:  # readiness must answer, whatever the probe hit
                log.warning("readyz probe failed: %s", exc)
                ok, detail = False, f"probe failed: {type(exc).__name__}"
            self._probe_ok, self._probe_detail = ok, detail
            self._probed_at = self._rt.clock.monotonic()
            return ok, detail

    async def report(self) -> dict[str, Any]:
        """The ``/readyz`` report: verdict, route, healthy candidates and both route versions."""
        runtime = self._rt
        status = runtime.reload
        report: dict[str, Any] = {
            "ready": False,
            "route_version": {"loaded": status.loaded_version, "on_disk": status.disk_version},
            "config_in_sync": status.disk_version == status.loaded_version,
            "last_reload_error": status.last_error,
        }
        if runtime.engine is None:
            report["detail"] = "starting"
            return report
        route = default_route(runtime.engine.table.routes)
        report["route"] = route
        if route is None:
            report["detail"] = "no route configured"
            return report
        degraded = getattr(runtime.store, "degraded_reason", None)
        if degraded:  # serving on this process's local state (state.onUnavailable "local")
            report["state_degraded"] = degraded
        try:
            healthy = await healthy_candidates(runtime, route)
        except StateStoreError as exc:  # state.onUnavailable "closed": nothing is routed
            report["detail"] = f"state store unavailable: {exc}"
            return report
        report["healthy"] = healthy
        if healthy:
            report["ready"] = True
            report["detail"] = f"{len(healthy)} healthy candidate(s)"
            return report
        report["ready"], report["detail"] = await self.probe(route)
        return report
