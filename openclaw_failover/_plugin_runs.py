"""The plugin path's run ledger: each run's model calls until OpenClaw ends it, and its outcome.

One run (``runId``, one agent turn) is one intent and gets one ``outcome`` line, as a request
does on the proxy path. OpenClaw 2026.9.6 fires ``agent_end`` once per attempt, not per run:
each fallback candidate runs the whole hook chain again, ``agent_end`` included
(reference/openclaw-live.md section 6; ``runAgentEndSideEffects`` in the attempt runner), and
the pass of a candidate whose every call failed still says ``success: true``. So:

- an ``agent_end`` after the run's last call completed ends the run: answered on the primary,
  else answered_downgraded (a later candidate, a different model, or the local tier);
- an ``agent_end`` after no completed call leaves the run *ending*. A call of the same run
  within :data:`END_GRACE_S` (OpenClaw trying the next candidate, or the same one after its
  backoff, at most 60 s) resumes it; otherwise, or when the sidecar stops, it is a hard stop
  dated at that ``agent_end``. A pass with no call at all and ``success: true`` (a turn no
  model was asked for) is no intent.
- A run that never gets ``agent_end`` (OpenClaw killed first) writes no outcome; its calls
  stay attempt lines and it ages out of the ledger.

Pure: every method is given ``now``. At most :data:`MAX_RUNS` runs are kept, oldest dropped
first (an ending one is decided as a hard stop when dropped).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ._model import Candidate, RouteTable, Tier
from ._plugin_guard import provider_id

MAX_RUNS = 4096
#: How long a run whose pass ended without an answer may still be resumed by another call:
#: above OpenClaw's longest wait before a retry or the next candidate
#: (``retry.provider.maxRetryDelayMs``, 60 s; reference/openclaw-live.md section 5.3).
END_GRACE_S = 120.0


@dataclass(slots=True)
class RunCalls:
    """What the ledger knows about one run so far."""

    started_at: float
    session_id: str | None = None
    trace_id: str | None = None
    attempts: int = 0
    first: Candidate | None = None
    last: Candidate | None = None
    last_completed: bool = False
    last_reason: str | None = None
    #: The ``agent_end`` of a pass that did not answer, while another call may still come.
    ending_at: float | None = None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """A run's one outcome: answered, answered_downgraded or hard_stop."""

    run_id: str
    outcome: str
    at: float
    attempts: int
    candidate: Candidate | None
    downgraded: bool | None
    latency_ms: float
    session_id: str | None = None
    trace_id: str | None = None
    reason: str | None = None


def _same(a: Candidate, b: Candidate) -> bool:
    return provider_id(a.provider) == provider_id(b.provider) and a.model == b.model


def is_downgraded(table: RouteTable, run: RunCalls, answered: Candidate) -> bool:
    """Not the primary: the local tier, a later candidate of the chain, or (for a model outside
    the chain: an agent's own, a user's pick) another model than the run started on."""
    if answered.tier is Tier.LOCAL:
        return True
    route = table.routes.get("auto")
    chain = route.candidates if route is not None else ()
    index = next((i for i, c in enumerate(chain) if _same(c, answered)), None)
    if index is not None:
        return index > 0
    return run.first is not None and not _same(run.first, answered)


class RunLedger:
    """Runs by id (an LRU), each dropped when its outcome is decided."""

    def __init__(self, table: RouteTable) -> None:
        self._table = table
        self._runs: OrderedDict[str, RunCalls] = OrderedDict()
        self._ending: dict[str, None] = {}
        self._dropped: list[RunOutcome] = []

    def __len__(self) -> int:
        return len(self._runs)

    def _run(self, run_id: str, now: float) -> RunCalls:
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = RunCalls(started_at=now)
            while len(self._runs) > MAX_RUNS:
                old_id, old = self._runs.popitem(last=False)
                if old_id in self._ending:
                    del self._ending[old_id]
                    self._dropped.append(self._hard_stop(old_id, old, old.ending_at or now))
        self._runs.move_to_end(run_id)
        return run

    def resume(self, run_id: str | None) -> None:
        """A hook of the run's next pass: an ending run goes on."""
        run = self._runs.get(run_id) if run_id else None
        if run is not None and run_id is not None:
            run.ending_at = None
            self._ending.pop(run_id, None)

    def call_started(self, run_id: str, now: float, *, session_id: str | None = None) -> None:
        """A model call of the run began (its pass goes on, if it was ending)."""
        if not run_id:
            return
        run = self._run(run_id, now)
        run.session_id = run.session_id or session_id
        self.resume(run_id)

    def call_ended(
        self,
        run_id: str,
        candidate: Candidate,
        *,
        completed: bool,
        reason: str | None,
        now: float,
    ) -> int:
        """A model call of the run ended; returns its number in the run (1 for the first)."""
        if not run_id:
            return 1
        run = self._run(run_id, now)
        self.resume(run_id)
        run.attempts += 1
        run.first = run.first or candidate
        run.last, run.last_completed, run.last_reason = candidate, completed, reason
        return run.attempts

    def agent_end(
        self,
        run_id: str,
        *,
        success: bool,
        duration_ms: float | None,
        now: float,
        session_id: str | None = None,
        trace_id: str | None = None,
    ) -> RunOutcome | None:
        """One pass of the run ended: its outcome when the last call answered, else None (the
        run is ending, or was no intent)."""
        if not run_id:
            return None
        known = run_id in self._runs
        run = self._run(run_id, now)
        run.session_id = run.session_id or session_id
        run.trace_id = run.trace_id or trace_id
        if duration_ms is not None and duration_ms >= 0:
            run.started_at = min(run.started_at, now - duration_ms / 1000.0)
        if run.last is not None and run.last_completed:
            del self._runs[run_id]
            self._ending.pop(run_id, None)
            downgraded = is_downgraded(self._table, run, run.last)
            return RunOutcome(
                run_id,
                "answered_downgraded" if downgraded else "answered",
                now,
                run.attempts,
                run.last,
                downgraded,
                _ms(now - run.started_at),
                run.session_id,
                run.trace_id,
            )
        if run.attempts == 0 and success and not known:
            del self._runs[run_id]  # no model was asked: no intent
            return None
        run.ending_at = now
        self._ending[run_id] = None
        return None

    def due(self, now: float) -> list[RunOutcome]:
        """Hard stops of the runs that ended without an answer more than the grace ago."""
        out, self._dropped = self._dropped, []
        for run_id in list(self._ending):
            run = self._runs[run_id]
            if run.ending_at is not None and now - run.ending_at >= END_GRACE_S:
                out.append(self._decide(run_id))
        return out

    def drain(self) -> list[RunOutcome]:
        """Every ending run as a hard stop (the sidecar is stopping: no pass can follow)."""
        out, self._dropped = self._dropped, []
        out.extend(self._decide(run_id) for run_id in list(self._ending))
        return out

    def _decide(self, run_id: str) -> RunOutcome:
        del self._ending[run_id]
        run = self._runs.pop(run_id)
        return self._hard_stop(run_id, run, run.ending_at or run.started_at)

    @staticmethod
    def _hard_stop(run_id: str, run: RunCalls, at: float) -> RunOutcome:
        return RunOutcome(
            run_id,
            "hard_stop",
            at,
            run.attempts,
            run.last,
            None,
            _ms(at - run.started_at),
            run.session_id,
            run.trace_id,
            run.last_reason,
        )


def _ms(seconds: float) -> float:
    return round(max(0.0, seconds) * 1000.0, 1)
