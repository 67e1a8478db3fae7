"""The small routes: ``/v1/models`` (and one by id), ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .._model import Route
from ._readiness import ReadinessCheck, engine_health
from ._request import new_request_id
from ._runtime import ProxyRuntime, log
from ._wire_errors import openai_error


def _echoed_id(request: Request) -> str:
    """The client's ``x-request-id``, cut at 128 characters as the chat endpoint cuts it."""
    return (request.headers.get("x-request-id") or "")[:128] or new_request_id()


def _json(data: Any, *, status: int = 200, request: Request, version: str = "") -> Response:
    headers = {"x-request-id": _echoed_id(request)}
    if version:
        headers["x-openclaw-failover-route-version"] = version
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def _model_entry(name: str, route: Route) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "openclaw-failover",
        "candidates": [
            {"provider": c.provider, "model": c.model, "tier": str(c.tier)}
            for c in route.candidates
        ],
    }


class SmallRoutes:
    """Request handlers bound to one app's runtime."""

    def __init__(self, runtime: ProxyRuntime) -> None:
        self._rt = runtime
        self._ready = ReadinessCheck(runtime)

    async def models(self, request: Request) -> Response:
        """The routes, OpenAI ``/v1/models`` shaped, each with its chain of candidates."""
        table = self._rt.require_engine().table
        data = [_model_entry(name, route) for name, route in table.routes.items()]
        return _json({"object": "list", "data": data}, request=request, version=table.version)

    async def model(self, request: Request) -> Response:
        """One route by name (``GET /v1/models/{id}``, the SDK's ``models.retrieve``)."""
        table = self._rt.require_engine().table
        name = request.path_params["model_id"]
        route = table.routes.get(name)
        if route is None:
            known = ", ".join(sorted(table.routes)) or "none"
            message = f"model: found {name!r}; expected one of the proxy's routes ({known})"
            error = openai_error(404, message, param="model", code="model_not_found")
            headers = {"x-request-id": _echoed_id(request)}
            return Response(error.body, 404, headers, media_type="application/json")
        return _json(_model_entry(name, route), request=request, version=table.version)

    async def healthz(self, request: Request) -> Response:
        """Liveness: the process serves HTTP."""
        return _json({"status": "ok"}, request=request)

    async def readyz(self, request: Request) -> Response:
        """Readiness: a candidate of the default route is healthy or answers a probe."""
        report = await self._ready.report()
        status = 200 if report["ready"] else 503
        version = self._rt.reload.loaded_version
        return _json(report, status=status, request=request, version=version)

    async def _refresh_cooldowns(self) -> None:
        if self._rt.engine is None:
            return
        try:
            snapshot = await engine_health(self._rt)
        except Exception as exc:  # a broken store must not break the scrape
            log.warning("cooldown gauge not refreshed: %s", type(exc).__name__)
            return
        for ref, entry in (snapshot or {}).items():
            provider, _, model = ref.partition("/")
            state = entry.get("state") if isinstance(entry, Mapping) else None
            cooling = 1 if state in ("cooling", "disabled") else 0
            self._rt.metrics.cooldowns.labels(provider, model).set(cooling)

    async def metrics(self, request: Request) -> Response:
        """Prometheus text exposition of this app's registry."""
        del request
        await self._refresh_cooldowns()
        dropped = getattr(self._rt.audit, "dropped", None)  # JsonlAuditSink's count
        if isinstance(dropped, int):
            self._rt.metrics.audit_dropped.set(dropped)
        return Response(
            self._rt.metrics.render(),
            headers={"content-type": "text/plain; version=0.0.4; charset=utf-8"},
        )


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as OpenAI-style errors; a 405 keeps its ``Allow`` header, and
    the request id is echoed as on every other reply."""
    status = getattr(exc, "status_code", 500)
    headers: dict[str, str] = dict(getattr(exc, "headers", None) or {})
    headers["x-request-id"] = _echoed_id(request)
    where = f"{request.method} {request.url.path}"
    if status == 405:
        allowed = headers.get("Allow", "")
        message, code = f"{where}: method not allowed (allowed: {allowed})", "method_not_allowed"
    else:
        message, code = f"{where}: no such endpoint of the failover proxy", "not_found"
    error = openai_error(status, message, code=code)
    return Response(error.body, status, headers=headers, media_type="application/json")


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug in a small route: a clean 500, never a stack trace (it goes to the log)."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    error = openai_error(
        500,
        "openclaw-failover: internal error (see the proxy log)",
        type_="server_error",
        code="internal_error",
    )
    headers = {"x-request-id": _echoed_id(request)}
    return Response(error.body, 500, headers=headers, media_type="application/json")
