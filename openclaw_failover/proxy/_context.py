"""The request being served, as a context variable the transport wrappers read for audit."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class RequestContext:
    """Who a wrapped transport call belongs to (for its audit lines)."""

    request_id: str
    trace_id: str | None
    route: str

    def audit_fields(self) -> dict[str, Any]:
        """The audit-record fields that tie a line to this request."""
        return {"request_id": self.request_id, "trace_id": self.trace_id, "route": self.route}


current_request: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "openclaw_failover_request", default=None
)


def request_audit_fields() -> dict[str, Any]:
    """``audit_fields`` of the current request, or nothing outside a request."""
    ctx = current_request.get()
    return ctx.audit_fields() if ctx is not None else {}
