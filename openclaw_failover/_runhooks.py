"""What one attempt reports back to its request: before the first token, a wait for a provider
slot (the transport's :class:`~openclaw_failover._ports.SendGate`); once the answer started,
skipped malformed events, a break (cooled and audited as ``stream_error``) and the final
outcome line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._classify import classify_outcome
from ._errors import StreamInterrupted
from ._exchange import AnswerMeta
from ._model import FailureReason
from ._ordering import Slot
from ._ports import MalformedEvent, TransportFailure
from ._upstream import Failed

if TYPE_CHECKING:
    from ._attempts import RequestRun

__all__ = ["AnswerEvents"]


class AnswerEvents:
    """The :class:`~openclaw_failover._ports.SendGate` and the
    :class:`~openclaw_failover._answer.AnswerHooks` of one attempt (one object per attempt)."""

    __slots__ = (
        "_run",
        "_slot",
        "meta",
        "ttfb_ms",
        "waiting",
    )

    def __init__(self, run: RequestRun, slot: Slot) -> None:
        self._run = run
        self._slot = slot
        #: True while the call waits for a provider slot (set by the transport).
        self.waiting = False
        self.meta: AnswerMeta | None = None
        #: Time to first token, rounded as the attempt line has it.
        self.ttfb_ms: float | None = None

    async def recheck(self) -> bool:
        """After a wait for a provider slot: whether the slot may still be sent to."""
        return await self._run.still_ours(self._slot)

    def malformed(self, event: MalformedEvent) -> None:
        """Audit a skipped event; its text is not written (it may hold model output)."""
        del event
        self._run.log.emit(
            "skip", self._slot, failure_kind="MalformedEvent", detail="malformed stream event"
        )

    async def interrupted(self, failure: Failed | TransportFailure) -> StreamInterrupted:
        """Cool the model as for any failure, write the ``stream_error`` outcome, and return
        the error for the caller to end its stream with."""
        run, slot = self._run, self._slot
        failed = failure if isinstance(failure, Failed) else _as_failed(failure, slot)
        run.log.failed(slot, failed, attempt=run.tried)
        await run.cool(slot, failed)
        run.log.outcome(
            "stream_error",
            slot,
            reason=failed.reason.value,
            failure_kind=failed.failure_kind,
            attempt=run.tried,
            downgraded=slot.index > 0,
        )
        return StreamInterrupted(tuple(run.log.attempts), request_id=run.log.request_id)

    def held_break(self, failure: Failed | TransportFailure) -> Failed:
        """A break of an answer held whole: a failed attempt line, no cooldown and no
        outcome yet (the attempt loop cools it as any failure and goes on)."""
        slot = self._slot
        failed = failure if isinstance(failure, Failed) else _as_failed(failure, slot)
        self._run.log.failed(slot, failed, attempt=self._run.tried)
        return failed

    def finished(self, outcome: str, blocked: tuple[str, ...]) -> None:
        """The outcome line (``answered``/``answered_downgraded``/``client_error``)."""
        run, slot = self._run, self._slot
        for name in blocked:
            run.log.emit("tool_blocked", slot, tools_blocked=(name,), detail="refused")
        meta = self.meta
        removed = meta.tools_blocked if meta is not None else ()
        if outcome == "answered" and slot.index > 0:
            outcome = "answered_downgraded"
        elapsed_ms = (run.view.clock.monotonic() - run.started) * 1000.0
        run.log.finished(
            slot,
            outcome,
            attempt=run.tried,
            tools_blocked=(*removed, *blocked) if blocked else removed,
            latency_ms=round(elapsed_ms, 1),
            ttfb_ms=self.ttfb_ms,
        )


def _as_failed(failure: TransportFailure, slot: Slot) -> Failed:
    result = classify_outcome(
        status=None,
        headers={},
        body_excerpt="",
        transport_error=failure,
        provider=slot.provider.id,
        api=slot.provider.api,
    )
    reason = result.reason or FailureReason.SERVER_ERROR
    return Failed(reason, None, None, result.detail, failure.kind, 0.0)
