"""CapturingAuditSink: an in-memory AuditSink for tests (``structlog.testing`` in spirit)."""

from __future__ import annotations

from .._ports import AuditRecord

__all__ = ["CapturingAuditSink"]


class CapturingAuditSink:
    """Keeps every emitted record in :attr:`records`, in order; ``aclose`` marks it closed."""

    def __init__(self) -> None:
        #: Every record emitted so far.
        self.records: list[AuditRecord] = []
        self.closed = False

    def emit(self, record: AuditRecord) -> None:
        """Keep ``record`` (never blocks)."""
        self.records.append(record)

    async def aclose(self) -> None:
        """Mark the sink closed; records stay readable."""
        self.closed = True

    def events(self, event: str) -> list[AuditRecord]:
        """The records whose ``event`` is ``event``."""
        return [r for r in self.records if r.event == event]

    def clear(self) -> None:
        """Forget every record so far."""
        self.records.clear()
