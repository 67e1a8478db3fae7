"""What one request reads from its engine (``EngineView``) and writes about itself: audit
records and the attempt log. Keys and prompt text never go into either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import AttemptRecord
from ._exchange import AnswerMeta, ChatRequest
from ._idle import Watchdog
from ._model import Candidate, RouteTable
from ._ordering import RoutePlan, Slot, SlotView
from ._ports import AuditRecord, AuditSink, Clock, StateStore, Transport
from ._upstream import Failed

__all__ = ["EngineView", "RunLog"]

#: The two lines of every answered request are built as one flat tuple of all their fields in
#: order, a fraction of the cost of the keyword form (``tests/test_engine_audit.py`` holds both
#: forms equal).
_tuple_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class EngineView:
    """One route table's precomputed parts plus the engine's ports; swapped whole on reload."""

    table: RouteTable
    plans: Mapping[str, RoutePlan]
    high_risk: frozenset[str]
    transports: Mapping[str, Transport]
    store: StateStore
    audit: AuditSink
    clock: Clock
    instance: str
    jitter: Callable[[float, float], float]
    pins: MutableMapping[str, str]
    last_used: MutableMapping[str, float]
    #: The engine's silence deadlines (one timer for every attempt; kept across reloads).
    watchdog: Watchdog
    #: ``id(slot)`` -> the meta of a plain first-try answer by that slot (built once).
    first_metas: dict[int, AnswerMeta] = field(default_factory=dict)


class RunLog:
    """The request's audit lines and attempt records (one ``outcome`` line, at most)."""

    __slots__ = (
        "_ids",
        "_outcome_written",
        "_view",
        "attempts",
        "request_id",
    )

    def __init__(self, view: EngineView, request: ChatRequest, request_id: str) -> None:
        self._view = view
        self.request_id = request_id
        #: The record fields after ``event`` and ``ts`` that every line of this request shares.
        self._ids = (
            request_id,
            request.trace_id,
            request.session_id,
            view.instance,
            request.route,
            view.table.version,
        )
        self.attempts: list[AttemptRecord] = []
        self._outcome_written = False

    def emit(self, event: str, slot: Slot | None = None, **fields: Any) -> None:
        """One audit line with the request's identity and, when given, the slot's."""
        self._emit(event, slot, fields)

    def _emit(self, event: str, slot: Slot | None, fields: dict[str, Any]) -> None:
        # ``fields`` travels as one dict: each ** hop would repack it.
        view = self._view
        labels = slot.labels if slot is not None else ()
        view.audit.emit(AuditRecord(event, view.clock.now(), *self._ids, *labels, **fields))

    def outcome(self, outcome: str, slot: Slot | None = None, **fields: Any) -> None:
        """The request's single ``outcome`` line; later calls are ignored."""
        if self._outcome_written:
            return
        self._outcome_written = True
        fields["outcome"] = outcome
        self._emit("outcome", slot, fields)

    def failed(self, slot: Slot, failed: Failed, *, attempt: int) -> None:
        """Record and audit one failed attempt."""
        provider, model, profile, tier = slot.labels
        self.attempts.append(
            AttemptRecord(
                provider=provider,
                model=model,
                profile=profile,
                tier=tier,
                reason=failed.reason.value,
                status=failed.status,
                latency_ms=failed.latency_ms,
                detail=failed.detail,
            )
        )
        self.emit(
            "attempt",
            slot,
            attempt=attempt,
            status=failed.status,
            reason=failed.reason.value,
            latency_ms=round(failed.latency_ms, 1),
            failure_kind=failed.failure_kind,
            detail=failed.detail or None,
        )

    def answered(self, slot: Slot, *, attempt: int, ttfb_ms: float, status: int) -> None:
        """Audit the attempt that produced the first token (``AnswerMeta`` describes it, so
        the attempt log keeps only failures and skips); ``ttfb_ms`` as it is to be written."""
        view = self._view
        rid, trace, session, instance, route, version = self._ids
        provider, model, profile, tier = slot.labels
        record = (
            "attempt", view.clock.now(), rid, trace, session, instance, route, version,
            provider, model, profile, tier, attempt, status, None, None, None, ttfb_ms,
            None, (), None, None, None, None,
        )  # fmt: skip
        view.audit.emit(_tuple_new(AuditRecord, record))

    def finished(
        self,
        slot: Slot,
        outcome: str,
        *,
        attempt: int,
        tools_blocked: tuple[str, ...],
        latency_ms: float,
        ttfb_ms: float | None,
    ) -> None:
        """The outcome line of an answer that started (``answered``, ``client_error``...);
        like :meth:`outcome`, written once at most."""
        if self._outcome_written:
            return
        self._outcome_written = True
        view = self._view
        rid, trace, session, instance, route, version = self._ids
        provider, model, profile, tier = slot.labels
        record = (
            "outcome", view.clock.now(), rid, trace, session, instance, route, version,
            provider, model, profile, tier, attempt, None, None, outcome, latency_ms, ttfb_ms,
            slot.index > 0, tools_blocked, None, None, None, None,
        )  # fmt: skip
        view.audit.emit(_tuple_new(AuditRecord, record))

    def unroutable(self, candidate: Candidate) -> None:
        """Record and audit a candidate with no slot: banned, unknown provider or no usable key."""
        detail = "banned, unknown provider or no usable key"
        self.attempts.append(
            AttemptRecord(
                provider=candidate.provider,
                model=candidate.model,
                profile="-",
                tier=candidate.tier.value,
                reason=None,
                status=None,
                latency_ms=0.0,
                detail=detail,
                skipped=True,
            )
        )
        self.emit(
            "skip",
            provider=candidate.provider,
            model=candidate.model,
            tier=candidate.tier.value,
            detail=detail,
        )

    def skipped(self, view: SlotView, detail: str) -> None:
        """Record and audit a slot passed over at no cost (cooling, being probed, no key)."""
        slot = view.slot
        provider, model, profile, tier = slot.labels
        self.attempts.append(
            AttemptRecord(
                provider=provider,
                model=model,
                profile=profile,
                tier=tier,
                reason=view.reason,
                status=None,
                latency_ms=0.0,
                detail=detail,
                skipped=True,
            )
        )
        self.emit(
            "skip",
            slot,
            reason=view.reason,
            cooldown_until=view.until or None,
            detail=detail,
        )
