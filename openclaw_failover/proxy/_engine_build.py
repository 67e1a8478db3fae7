"""Building the engine for the proxy from a route table: limited transports, store, audit."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx

from .._clock import SystemClock
from .._model import RouteTable
from .._ports import AuditRecord, AuditSink, Clock, StateStore, Transport
from ._limits import ProviderLimits, limited_transports
from ._runtime import ChatEngine


@dataclass(frozen=True, slots=True)
class EngineParts:
    """What ``create_app`` was given for the engine; None parts come from the table's settings."""

    store: StateStore | None
    audit: AuditSink | None
    clock: Clock | None
    limits: ProviderLimits
    instance: str = ""


@dataclass(frozen=True, slots=True)
class BuiltEngine:
    """The engine and the audit sink it writes to (the proxy writes its own lines there too)."""

    engine: ChatEngine
    audit: AuditSink
    store: StateStore
    transports: Mapping[str, Transport]


async def build_engine(
    stack: AsyncExitStack, table: RouteTable, *, client: httpx.AsyncClient, parts: EngineParts
) -> BuiltEngine:
    """A ``FailoverEngine`` over ``client`` whose transports honour per-provider limits.

    Store and audit sink come from ``parts`` or else from the table's settings; whatever is
    built here is closed when ``stack`` closes.
    """
    from .._engine import FailoverEngine
    from ..providers import build_transports
    from ..stores import build_store

    transports = limited_transports(build_transports(client), parts.limits, table)
    store = parts.store
    if store is None:
        store = build_store(table.settings.state, fingerprint_salt=table.fingerprint_salt)
        stack.push_async_callback(store.aclose)
    audit = parts.audit
    if audit is None:
        audit = _default_audit(table)
        stack.push_async_callback(audit.aclose)
    kwargs: dict[str, Any] = {"transports": transports, "store": store, "audit": audit}
    if parts.clock is not None:
        kwargs["clock"] = parts.clock
    engine = FailoverEngine(table, instance=parts.instance, **kwargs)
    _audit_store_changes(store, audit, engine=engine, parts=parts)
    return BuiltEngine(engine, audit, store, transports)


def _audit_store_changes(
    store: StateStore, audit: AuditSink, *, engine: ChatEngine, parts: EngineParts
) -> None:
    """A shared store that falls back to local state, and its return, each get an audit line,
    stamped with the route table in use then (a reload since start-up changed it)."""
    watch = getattr(store, "watch", None)
    if not callable(watch):
        return
    now = (parts.clock or SystemClock()).now

    def record(reason: str | None) -> None:
        table = engine.table
        audit.emit(
            AuditRecord(
                event="state_degraded" if reason else "state_restored",
                ts=now(),
                instance=parts.instance,
                route_version=table.version,
                config_path=table.config_path,
                detail=reason or "shared state reachable again; local state merged back",
            )
        )

    watch(record)


class NullAuditSink:
    """Drops records: used when the settings name no audit path."""

    def emit(self, record: AuditRecord) -> None:
        """Drop ``record``."""
        del record

    async def aclose(self) -> None:
        """Nothing to close."""


def _default_audit(table: RouteTable) -> AuditSink:
    settings = table.settings.audit
    if not settings.path:
        return NullAuditSink()
    try:
        from .._audit import JsonlAuditSink  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the audit sink arrives with its own module
        return NullAuditSink()
    sink: AuditSink = JsonlAuditSink(
        settings.path, max_bytes=settings.max_bytes, keep=settings.keep
    )
    return sink
