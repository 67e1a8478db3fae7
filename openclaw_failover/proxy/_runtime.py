"""What the proxy's routes share at run time: the engine seam, metrics and reload status."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._clock import SystemClock
from .._exchange import Answer, AnswerMeta, ChatRequest
from .._model import RouteTable
from .._ports import AuditRecord, AuditSink, Clock, StateStore, Transport
from ._metrics import ProxyMetrics

log = logging.getLogger("openclaw_failover.proxy")


@runtime_checkable
class ChatEngine(Protocol):
    """The part of ``FailoverEngine`` the proxy uses (docs/CONTRACTS.md, "Engine")."""

    @property
    def table(self) -> RouteTable: ...

    async def open(self, request: ChatRequest) -> Answer: ...

    async def complete(self, request: ChatRequest) -> tuple[AnswerMeta, dict[str, Any]]: ...

    def replace_table(self, table: RouteTable) -> None: ...


@dataclass(slots=True)
class ReloadStatus:
    """The loaded table's version next to the on-disk one, and the last reload problem."""

    loaded_version: str = ""
    disk_version: str | None = None
    last_error: str | None = None
    last_checked_at: float | None = None


@dataclass(slots=True)
class ProxyRuntime:
    """Mutable shared state of one app: set up in the lifespan, read by every route."""

    metrics: ProxyMetrics
    clock: Clock = field(default_factory=SystemClock)
    engine: ChatEngine | None = None
    audit: AuditSink | None = None
    store: StateStore | None = None
    transports: Mapping[str, Transport] | None = None
    instance: str = ""
    reload: ReloadStatus = field(default_factory=ReloadStatus)
    reloader: Any = None
    body_timeout_s: float = 30.0
    table_listeners: list[Callable[[RouteTable], None]] = field(default_factory=list)

    def require_engine(self) -> ChatEngine:
        """The engine; the lifespan sets it before the first request is served."""
        if self.engine is None:
            raise RuntimeError("the proxy's engine is not started (lifespan not run)")
        return self.engine

    def emit(self, record: AuditRecord) -> None:
        """Send an audit record if a sink is configured; never raise into a request."""
        if self.audit is None:
            return
        try:
            self.audit.emit(record)
        except Exception:  # an audit failure must not fail the request
            log.exception("audit emit failed")
