"""``FailoverEngine``: the async shell around the pure core, over injected ports.

It owns nothing global: the clock, transports, state store and audit sink come in through the
constructor (or :meth:`FailoverEngine.from_config`, which builds them from the table's
settings and closes what it built). Per route table it precomputes the route plans and the
high-risk tool set once, so a request does no config work.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ._answer import aggregate
from ._attempts import RequestRun
from ._clock import SystemClock
from ._errors import StateStoreError
from ._exchange import Answer, AnswerMeta, ChatRequest
from ._idle import Watchdog
from ._model import RouteTable
from ._ordering import order_profiles, plan_route
from ._ports import AuditRecord, AuditSink, Clock, StateStore, Transport
from ._runstate import EngineView
from ._toolpolicy import high_risk_set

__all__ = ["FailoverEngine"]

_PIN_LIMIT = 4096


class _SessionPins(OrderedDict[str, str]):
    """session id -> the profile that last answered it (bounded, least recent dropped)."""

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > _PIN_LIMIT:
            self.popitem(last=False)


class _NullAudit:
    """Drops records (no audit path configured)."""

    def emit(self, record: AuditRecord) -> None:
        del record

    async def aclose(self) -> None:
        return None


class FailoverEngine:
    """Keeps a chat request answered across keys, providers and the local tier.

    ``open`` fails over until the first token and returns a started answer; ``complete``
    returns a whole ``chat.completion`` body; ``chat`` is the small Python API.
    """

    def __init__(
        self,
        table: RouteTable,
        *,
        transports: Mapping[str, Transport],
        store: StateStore,
        audit: AuditSink,
        clock: Clock | None = None,
        instance: str = "",
        jitter: Callable[[float, float], float] | None = None,
    ) -> None:
        self._transports = dict(transports)
        self._store = store
        self._audit = audit
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._instance = instance
        self._jitter = jitter if jitter is not None else random.Random().uniform  # noqa: S311  # jitter, not crypto
        self._pins = _SessionPins()
        self._last_used: dict[str, float] = {}
        self._token = f"{instance or 'engine'}:{os.getpid()}:{secrets.token_hex(4)}"
        self._seq = itertools.count(1)
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        self._watchdog = Watchdog(self._clock)
        self._view = self._build_view(table)

    # ------------------------------------------------------------------ tables

    def _build_view(self, table: RouteTable) -> EngineView:
        banned = table.settings.banned_models
        plans = {
            name: plan_route(route, table.providers, banned=banned)
            for name, route in table.routes.items()
        }
        return EngineView(
            table=table,
            plans=plans,
            high_risk=high_risk_set(table.settings.tools),
            transports=self._transports,
            store=self._store,
            audit=self._audit,
            clock=self._clock,
            instance=self._instance,
            jitter=self._jitter,
            pins=self._pins,
            last_used=self._last_used,
            watchdog=self._watchdog,
        )

    @property
    def table(self) -> RouteTable:
        """The route table in use."""
        return self._view.table

    def replace_table(self, table: RouteTable) -> None:
        """Use a reloaded table for every later request (requests in flight keep theirs)."""
        self._view = self._build_view(table)

    # ------------------------------------------------------------------ requests

    async def open(self, request: ChatRequest) -> Answer:
        """Fail over until the first token; raise ``AllCandidatesFailed`` / ``RouteDriftError``
        / ``RequestRejected``; an unknown route raises ``KeyError``."""
        owner = f"{self._token}-{next(self._seq)}"  # unique per request; probe claims name it
        run = RequestRun(self._view, request, owner=owner, request_id=request.request_id or owner)
        try:
            return await run.run()
        except asyncio.CancelledError:  # the caller left while the request was held
            run.log.outcome("client_error", detail="cancelled", attempt=run.tried)
            # A probe it held is given back, not left 'probing' until its lease ends (with
            # the store down, the lease ends it).
            with contextlib.suppress(StateStoreError):
                await run.writes.release()
            raise

    async def complete(self, request: ChatRequest) -> tuple[AnswerMeta, dict[str, Any]]:
        """The whole answer as an OpenAI ``chat.completion`` body (model = upstream model)."""
        answer = await self.open(request)
        chunks = []
        try:
            async for chunk in answer:
                chunks.append(chunk)
        finally:
            await answer.aclose()
        meta = answer.meta
        return meta, aggregate(chunks, model=meta.model)

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        route: str = "auto",
        stream: bool = False,
        **params: Any,
    ) -> Any:
        """The Python API: a ``chat.completion`` dict (with ``openclaw_failover`` saying who
        answered), or with ``stream=True`` a started :class:`Answer` to iterate and close."""
        body = {"messages": [dict(m) for m in messages], **params}
        request = ChatRequest(body=body, route=route, stream=stream)
        if stream:
            return await self.open(request)
        meta, payload = await self.complete(request)
        payload["openclaw_failover"] = {
            "provider": meta.provider,
            "model": meta.model,
            "profile": meta.profile,
            "tier": meta.tier,
            "attempts": meta.attempts,
            "route_version": meta.route_version,
            "downgraded": meta.downgraded,
            "tools_blocked": list(meta.tools_blocked),
        }
        return payload

    async def health_snapshot(self) -> dict[str, dict[str, Any]]:
        """``provider/model`` -> ``{"healthy", "state", "until"}`` over every route."""
        view = self._view
        keys = sorted({key for plan in view.plans.values() for key in plan.keys})
        health = await self._store.snapshot(keys)
        now = self._clock.now()
        out: dict[str, dict[str, Any]] = {}
        for plan in view.plans.values():
            for group in plan.groups:
                if not group:
                    continue
                views = order_profiles(group, health, now=now)
                best = views[0]
                out[group[0].candidate.ref] = {
                    "healthy": best.usable,
                    "state": best.state,
                    "until": best.until or None,
                }
        return out

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def from_config(
        cls,
        path: str | Path | None = None,
        *,
        kind: str | None = None,
        environ: Mapping[str, str] | None = None,
        store: StateStore | None = None,
        audit: AuditSink | None = None,
        clock: Clock | None = None,
        http_client: Any = None,
        instance: str = "",
    ) -> FailoverEngine:
        """Load the route table (raises ``ConfigError``) and build what is not given; whatever
        is built here is closed by :meth:`aclose` (``async with engine:``)."""
        from .config import require_route_table
        from .providers import build_transports
        from .stores import build_store

        table = require_route_table(None if path is None else str(path), kind=kind, environ=environ)
        closers: list[Callable[[], Awaitable[Any]]] = []
        client = http_client if http_client is not None else _pooled_client(closers)
        if store is None:
            store = build_store(table.settings.state, fingerprint_salt=table.fingerprint_salt)
            closers.append(store.aclose)
        if audit is None:
            audit = _default_audit(table)
            closers.append(audit.aclose)
        engine = cls(
            table,
            transports=build_transports(client),
            store=store,
            audit=audit,
            clock=clock,
            instance=instance,
        )
        engine._closers = closers
        audit.emit(
            AuditRecord(
                event="config_loaded",
                ts=engine._clock.now(),
                instance=instance,
                route_version=table.version,
                config_path=table.config_path,
            )
        )
        return engine

    async def aclose(self) -> None:
        """Close what :meth:`from_config` built (the audit sink last, so it sees everything)."""
        closers, self._closers = self._closers, []
        for closer in closers:
            await closer()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _pooled_client(closers: list[Callable[[], Awaitable[Any]]]) -> Any:
    """One pooled client for every provider; deadlines are the engine's (first token, stream
    idle), so httpx only bounds connects."""
    import httpx

    client = httpx.AsyncClient(
        timeout=httpx.Timeout(None, connect=15.0),
        limits=httpx.Limits(max_keepalive_connections=64),
    )
    closers.append(client.aclose)
    return client


def _default_audit(table: RouteTable) -> AuditSink:
    settings = table.settings.audit
    if not settings.path:
        return _NullAudit()
    from ._audit import JsonlAuditSink

    sink: AuditSink = JsonlAuditSink(
        settings.path, max_bytes=settings.max_bytes, keep=settings.keep
    )
    return sink
