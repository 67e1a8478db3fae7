"""``probe``: a minimal real model call per candidate and key, classified, with its latency.

A probe is a model handshake, not a process check: one streamed chat request with a tiny
``max_tokens`` through the same transports the engine uses, read until the first token, plus a
look at the provider's model list (is the configured id still served?). Results name the
profile id, never the key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._model import Candidate, Profile, Provider, RouteTable
from ._ports import AuditRecord, Transport, TransportFailure, UpstreamCall
from .providers.ollama import has_model

__all__ = [
    "ProbeResult",
    "failing_default_candidates",
    "probe_records",
    "probe_table",
    "verdict_for",
]

PROBE_BODY: Mapping[str, Any] = {
    "messages": [{"role": "user", "content": "Reply with OK."}],
    "max_tokens": 1,
    "stream": True,
}
_VERDICTS = {
    "auth": "auth",
    "auth_permanent": "auth",
    "rate_limit": "rate_limit",
    "billing": "billing",
    "timeout": "timeout",
    "model_not_found": "not_found",
}


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: verdict is ok, auth, rate_limit, billing, timeout, not_found, unreachable,
    no_key or another failure reason; ``listed`` is None when the model list could not be read."""

    route: str
    candidate: str
    profile: str
    verdict: str
    status: int | None
    latency_ms: float
    listed: bool | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the model answered."""
        return self.verdict == "ok"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "route": self.route,
            "candidate": self.candidate,
            "profile": self.profile,
            "verdict": self.verdict,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "listed": self.listed,
            "detail": self.detail,
        }


def _scrubbed(detail: str, profile: Profile | None) -> str:
    """The detail, short, with the key masked: upstreams echo keys in auth errors."""
    if profile is not None and profile.secret is not None and profile.secret.reveal():
        detail = detail.replace(profile.secret.reveal(), "***")
    return detail[:200]


def verdict_for(reason: str | None) -> str:
    """The probe bucket for a failure reason (None means ok)."""
    return "ok" if reason is None else _VERDICTS.get(reason, reason)


def _classify(
    provider: Provider,
    *,
    status: int | None,
    headers: Mapping[str, str],
    body: str,
    error: TransportFailure | None,
) -> tuple[str | None, str]:
    from ._classify import classify_outcome

    result = classify_outcome(
        status=status,
        headers=headers,
        body_excerpt=body,
        transport_error=error,
        provider=provider.id,
        api=provider.api,
    )
    return (None if result.reason is None else str(result.reason)), result.detail or ""


async def _call(transport: Transport, call: UpstreamCall) -> tuple[int | None, str | None, str]:
    """Send one probe; return (status, reason, detail). Reads until the first chunk."""
    try:
        async with transport.send(call) as reply:
            if reply.status >= 300:
                body = await reply.error_excerpt(2048)
                reason, detail = _classify(
                    call.provider, status=reply.status, headers=reply.headers, body=body, error=None
                )
                return reply.status, reason or "unknown", detail
            async for _chunk in reply.chunks():
                break
            return reply.status, None, ""
    except TransportFailure as exc:
        if exc.kind == "ConnectError":  # nothing listening: say so rather than a 5xx bucket
            return None, "unreachable", exc.kind
        reason, detail = _classify(call.provider, status=None, headers={}, body="", error=exc)
        return None, reason or "unknown", detail or exc.kind


async def _listed(
    transport: Transport, provider: Provider, profile: Profile | None, model: str, timeout_s: float
) -> bool | None:
    try:
        models = await asyncio.wait_for(transport.list_models(provider, profile), timeout_s)
    except Exception:  # a missing model list is "unknown", not a probe failure
        return None
    return has_model(model, models)


async def _probe_one(
    route: str,
    candidate: Candidate,
    provider: Provider,
    profile: Profile | None,
    *,
    transport: Transport | None,
    timeout_s: float,
    clock: Callable[[], float],
) -> ProbeResult:
    label = profile.id if profile else "-"
    if transport is None:
        return ProbeResult(
            route,
            candidate.ref,
            label,
            "unsupported_api",
            None,
            0.0,
            None,
            f"no transport for api {provider.api!r}",
        )
    if profile is not None and profile.secret is None:
        return ProbeResult(
            route,
            candidate.ref,
            label,
            "no_key",
            None,
            0.0,
            None,
            f"key not resolvable ({profile.source})",
        )
    call = UpstreamCall(provider=provider, candidate=candidate, profile=profile, body=PROBE_BODY)
    started = clock()
    try:
        status, reason, detail = await asyncio.wait_for(_call(transport, call), timeout_s)
    except TimeoutError:
        status, reason, detail = None, "timeout", f"no first token within {timeout_s:g} s"
    latency_ms = (clock() - started) * 1000.0
    detail = _scrubbed(detail, profile)
    listed = await _listed(transport, provider, profile, candidate.model, timeout_s)
    verdict = verdict_for(reason)
    return ProbeResult(route, candidate.ref, label, verdict, status, latency_ms, listed, detail)


async def probe_table(
    table: RouteTable,
    *,
    transports: Mapping[str, Transport],
    only: str | None = None,
    timeout_s: float = 15.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[ProbeResult]:
    """Probe every (candidate, profile) of every route once; ``only`` limits to one provider."""
    seen: set[tuple[str, str]] = set()
    jobs = []
    for route in table.routes.values():
        for candidate in route.candidates:
            if only not in (None, "all", candidate.provider) or (candidate.ref, route.name) in seen:
                continue
            seen.add((candidate.ref, route.name))
            provider = table.providers[candidate.provider]
            transport = transports.get(provider.api)
            for profile in provider.profiles or (None,):
                jobs.append(
                    _probe_one(
                        route.name,
                        candidate,
                        provider,
                        profile,
                        transport=transport,
                        timeout_s=timeout_s,
                        clock=clock,
                    )
                )
    return list(await asyncio.gather(*jobs))


def failing_default_candidates(results: list[ProbeResult], *, route: str = "auto") -> list[str]:
    """Candidates of the default route where no key answered (these make the exit non-zero)."""
    by_candidate: dict[str, bool] = {}
    for result in results:
        if result.route == route:
            by_candidate[result.candidate] = by_candidate.get(result.candidate, False) or result.ok
    return [c for c, ok in by_candidate.items() if not ok]


def probe_records(
    results: list[ProbeResult], table: RouteTable, *, now: float
) -> list[AuditRecord]:
    """One ``probe`` audit line per result, so an incident timeline shows the operator's probes."""
    records = []
    for r in results:
        provider, _, model = r.candidate.partition("/")
        records.append(
            AuditRecord(
                event="probe",
                ts=now,
                route=r.route,
                route_version=table.version,
                provider=provider,
                model=model,
                profile=None if r.profile == "-" else r.profile,
                status=r.status,
                reason=None if r.ok else r.verdict,
                latency_ms=round(r.latency_ms, 1),
                config_path=table.config_path,
                detail=f"cli probe: {r.verdict}",
            )
        )
    return records
