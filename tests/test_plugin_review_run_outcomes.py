"""One outcome line per plugin run, written at agent_end: answered, answered_downgraded or a
hard stop, and the report counting each run as one intent.

OpenClaw 2026.9.6 fires agent_end once per attempt pass (each fallback candidate runs the hook
chain again), and a pass whose calls all failed still says success: true
(reference/openclaw-live.md section 6), so these runs send it that way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from openclaw_failover._model import Candidate
from openclaw_failover._plugin_runs import END_GRACE_S, MAX_RUNS
from openclaw_failover._ports import AuditRecord
from openclaw_failover._report import build_report
from openclaw_failover._sidecar import Sidecar
from tests.fixtures.plugin_host import (
    FALLBACK,
    LOCAL,
    NOW,
    PRIMARY,
    TRACE,
    FixedClock,
    ListAudit,
    agent_ctx,
    call_event,
    hook,
    make_plugin,
)

ERROR = {"outcome": "error", "durationMs": 900, "errorCategory": "Error"}
TIMEOUT = {"outcome": "error", "durationMs": 30000, "failureKind": "timeout"}
DONE = {"outcome": "completed", "durationMs": 300}
#: OpenClaw's agent_end payload shape (messages are the conversation; never audited).
END = {"messages": [{"role": "user", "content": "SECRET PROMPT sk-ant-123"}], "success": True}


def setup() -> tuple[Sidecar, ListAudit, FixedClock]:
    """A sidecar over a plugin with the test chain primary -> fallback -> local."""
    plugin, _, audit, clock = make_plugin()
    return Sidecar.create(plugin), audit, clock


async def call(sidecar: Sidecar, where: Candidate, ended: dict[str, Any], run: str) -> None:
    """One model call of ``run`` on ``where``, started and ended."""
    ctx = agent_ctx(where, runId=run)
    await hook(sidecar, "model_call_started", call_event(where, run), ctx)
    await hook(sidecar, "model_call_ended", call_event(where, run, **ended), ctx)


async def agent_end(sidecar: Sidecar, where: Candidate, run: str, *, success: bool = True) -> None:
    """The agent_end of one pass of ``run`` on ``where``."""
    event = END | {"runId": run, "success": success, "durationMs": 1200}
    await hook(sidecar, "agent_end", event, agent_ctx(where, runId=run))


def outcomes(audit: ListAudit) -> list[AuditRecord]:
    """The outcome lines written so far."""
    return [r for r in audit.records if r.event == "outcome"]


async def fail_over_twice_then_answer(sidecar: Sidecar, run: str = "run-1") -> None:
    """Primary fails, fallback times out, local answers after a tool call: three passes."""
    await call(sidecar, PRIMARY, ERROR, run)
    await agent_end(sidecar, PRIMARY, run)  # success: true, as OpenClaw says
    await call(sidecar, FALLBACK, TIMEOUT, run)
    await agent_end(sidecar, FALLBACK, run)
    await call(sidecar, LOCAL, DONE, run)  # a tool call
    await call(sidecar, LOCAL, DONE, run)  # the answer
    await agent_end(sidecar, LOCAL, run)


async def only_failures(sidecar: Sidecar, run: str = "run-2") -> None:
    """Every candidate fails; each pass ends with agent_end, the last with success false."""
    await call(sidecar, PRIMARY, ERROR, run)
    await agent_end(sidecar, PRIMARY, run)
    await call(sidecar, FALLBACK, ERROR, run)
    await agent_end(sidecar, FALLBACK, run, success=False)


async def test_a_run_answered_on_the_primary_writes_one_answered_line() -> None:
    """One completed call on the primary, then agent_end: one outcome, answered, attempt 1."""
    sidecar, audit, _ = setup()
    await call(sidecar, PRIMARY, DONE, "run-1")
    assert outcomes(audit) == []  # a completed call is an attempt line, not the outcome
    await agent_end(sidecar, PRIMARY, "run-1")
    [line] = outcomes(audit)
    assert (line.outcome, line.downgraded, line.attempt) == ("answered", False, 1)
    assert (line.provider, line.model, line.tier) == ("anthropic", "claude-opus-4-6", "cloud")
    assert (line.request_id, line.session_id, line.route_version) == ("run-1", "s1", "rv-test")
    assert line.trace_id == TRACE["traceId"]
    assert len(sidecar.plugin.runs) == 0  # dropped at agent_end


async def test_a_run_that_fails_over_twice_then_answers_writes_one_downgraded_line() -> None:
    """Three passes, four calls: attempt lines 1-4, then one answered_downgraded outcome on
    the local tier with attempt 4; the failed passes' agent_end (success true) write nothing."""
    sidecar, audit, clock = setup()
    await fail_over_twice_then_answer(sidecar)
    attempts = [r for r in audit.records if r.event == "attempt"]
    assert [r.attempt for r in attempts] == [1, 2, 3, 4]
    assert {r.outcome for r in attempts} == {"error", "completed"}
    [line] = outcomes(audit)
    assert (line.outcome, line.downgraded, line.attempt) == ("answered_downgraded", True, 4)
    assert (line.provider, line.tier) == ("ollama", "local")
    clock.t += END_GRACE_S * 2
    sidecar.plugin.flush_runs(stopping=True)
    assert len(outcomes(audit)) == 1
    assert len(sidecar.plugin.runs) == 0


async def test_a_run_steered_to_the_fallback_is_downgraded() -> None:
    """A run whose only (completed) call is on the chain's second candidate is downgraded."""
    sidecar, audit, _ = setup()
    await call(sidecar, FALLBACK, DONE, "run-1")
    await agent_end(sidecar, FALLBACK, "run-1")
    [line] = outcomes(audit)
    assert (line.outcome, line.downgraded, line.provider) == ("answered_downgraded", True, "openai")


async def test_a_run_whose_every_call_fails_is_one_hard_stop() -> None:
    """No call completed: nothing while another pass may come, then one hard_stop (attempt 2,
    the last failure's reason, dated at the last agent_end) once the grace has passed."""
    sidecar, audit, clock = setup()
    await only_failures(sidecar)
    ended_at = clock.t
    assert outcomes(audit) == []
    clock.t += END_GRACE_S - 1
    assert sidecar.plugin.flush_runs() == 0
    clock.t += 1
    assert sidecar.plugin.flush_runs() == 1
    [line] = outcomes(audit)
    assert (line.outcome, line.attempt, line.reason, line.ts) == (
        "hard_stop",
        2,
        "unknown",
        ended_at,
    )
    assert (line.request_id, line.session_id, line.downgraded) == ("run-2", "s1", None)
    assert sidecar.plugin.flush_runs(stopping=True) == 0
    assert len(sidecar.plugin.runs) == 0


async def test_a_failed_run_is_a_hard_stop_when_the_sidecar_stops() -> None:
    """OpenClaw exits after a failed run (the CLI): stopping writes its hard stop at once."""
    sidecar, audit, _ = setup()
    await only_failures(sidecar)
    assert sidecar.plugin.flush_runs(stopping=True) == 1
    assert [r.outcome for r in outcomes(audit)] == ["hard_stop"]


async def test_the_next_hook_of_the_run_writes_a_due_hard_stop() -> None:
    """A gateway's next hook (any run) writes the hard stops whose grace has passed."""
    sidecar, audit, clock = setup()
    await only_failures(sidecar)
    clock.t += END_GRACE_S
    await call(sidecar, PRIMARY, DONE, "run-3")
    assert [(r.outcome, r.request_id) for r in outcomes(audit)] == [("hard_stop", "run-2")]


async def test_a_pass_that_fails_then_a_later_pass_that_answers_is_no_hard_stop() -> None:
    """The next candidate's pass starting within the grace resumes the run: no hard stop even
    long after, one answered_downgraded."""
    sidecar, audit, clock = setup()
    await call(sidecar, PRIMARY, ERROR, "run-1")
    await agent_end(sidecar, PRIMARY, "run-1")
    clock.t += 60  # OpenClaw's longest retry wait
    await hook(sidecar, "before_model_resolve", {}, agent_ctx(FALLBACK))
    clock.t += END_GRACE_S
    assert sidecar.plugin.flush_runs() == 0
    await call(sidecar, FALLBACK, DONE, "run-1")
    await agent_end(sidecar, FALLBACK, "run-1")
    sidecar.plugin.flush_runs(stopping=True)
    assert [r.outcome for r in outcomes(audit)] == ["answered_downgraded"]


async def test_a_run_without_agent_end_writes_no_outcome() -> None:
    """OpenClaw killed mid-run: its calls stay attempt lines; no outcome, even at stop."""
    sidecar, audit, _ = setup()
    await call(sidecar, PRIMARY, ERROR, "run-1")
    await call(sidecar, FALLBACK, DONE, "run-1")
    sidecar.plugin.flush_runs(stopping=True)
    assert outcomes(audit) == []


async def test_a_pass_without_any_model_call_is_no_intent() -> None:
    """agent_end with success and no model call (a turn no model was asked for) writes nothing;
    with success false it is a hard stop with no attempts."""
    sidecar, audit, _ = setup()
    await agent_end(sidecar, PRIMARY, "run-1")
    await agent_end(sidecar, PRIMARY, "run-2", success=False)
    sidecar.plugin.flush_runs(stopping=True)
    assert [(r.request_id, r.outcome, r.attempt) for r in outcomes(audit)] == [
        ("run-2", "hard_stop", 0)
    ]


async def test_agent_end_messages_never_reach_the_audit() -> None:
    """agent_end's messages (prompt text, maybe a key) appear in no audit line."""
    sidecar, audit, _ = setup()
    await fail_over_twice_then_answer(sidecar)
    await only_failures(sidecar)
    sidecar.plugin.flush_runs(stopping=True)
    text = json.dumps([r.to_json() for r in audit.records])
    assert "SECRET PROMPT" not in text
    assert "sk-ant-123" not in text


async def test_the_run_ledger_is_bounded() -> None:
    """Runs that never end are dropped oldest first: the ledger stays at its bound."""
    plugin, _, audit, _ = make_plugin()
    for n in range(MAX_RUNS + 50):
        plugin.runs.call_started(f"run-{n}", NOW)
    assert len(plugin.runs) == MAX_RUNS
    assert outcomes(audit) == []


async def test_the_report_counts_each_plugin_run_as_one_intent(tmp_path: Path) -> None:
    """The plugin's own lines: a run failing over twice then answering (with a tool call) is
    one downgraded intent, a run with only failures one hard stop; the failures stay in the
    rates."""
    plugin, _, audit, _ = make_plugin()
    sidecar = Sidecar.create(plugin)
    await fail_over_twice_then_answer(sidecar)
    await only_failures(sidecar)
    plugin.flush_runs(stopping=True)
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r.to_json()) + b"\n" for r in audit.records))
    data = build_report(path, now=NOW + 3600).to_json()
    totals = data["totals"]
    assert (totals["intents"], totals["local"], totals["hard_stop"]) == (2, 1, 1)
    assert (totals["primary"], totals["fallback"]) == (0, 0)
    assert totals["hard_stop_share"] == 0.5
    assert sum(r["attempts"] for r in data["rates"]) == 6
