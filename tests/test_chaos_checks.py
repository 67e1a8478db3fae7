"""The chaos soak's checker on hand-made records: what it counts as a send to a cooling key,
and how it tells a request that never reached the proxy from one the proxy lost."""

from __future__ import annotations

from typing import Any

from openclaw_failover._ports import Health
from openclaw_failover.testing import Ok
from tests.fixtures.chaos import ANSWER, Outcome
from tests.fixtures.chaos_checks import Findings, Hit, check_all

KM = ("km", "p1:b", "m1")
SET_AT, UNTIL = 100.0, 103.7  # a cooldown on p1:b's m1, as the CI run's crash soak had one


def line(event: str, ts: float, rid: str, **fields: Any) -> dict[str, Any]:
    """An audit line of request ``rid`` on p1/m1 with key p1:b."""
    base = {"provider": "p1", "model": "m1", "profile": "p1:b", "trace_id": f"t-{rid}"}
    return {"event": event, "ts": ts, "request_id": rid, **base, **fields}


def cooled() -> dict[str, Any]:
    """The cooldown_set line of another request, 429 on p1:b's m1."""
    return line(
        "cooldown_set",
        SET_AT,
        "setter",
        reason="rate_limit",
        cooldown_until=UNTIL,
        detail="key_model",
    )


def attempt(rid: str, ts: float, latency_s: float) -> dict[str, Any]:
    """A failed attempt line: started ``latency_s`` before ``ts`` as the proxy measured it."""
    return line(
        "attempt", ts, rid, attempt=1, status=500, reason="server_error", latency_ms=latency_s * 1e3
    )


def hit(rid: str, at: float) -> Hit:
    """The fake's record of ``rid``'s call on p1/m1 with key p1:b, arriving at ``at``."""
    return Hit("p1", "p1:b", "m1", at, f"t-{rid}", Ok(ANSWER))


def cooling(lines: list[dict[str, Any]], hits: list[Hit], **kwargs: Any) -> Findings:
    """Every check over ``lines`` and ``hits``, with no client outcomes."""
    return check_all([], lines, hits, **kwargs)


def violations(findings: Findings) -> list[str]:
    """The ``no_attempt_while_cooling`` violations."""
    return findings.violations.get("no_attempt_while_cooling", [])


def test_a_send_chosen_before_the_cooldown_landed_may_arrive_after_it() -> None:
    """A call the proxy started before the cooldown was written is a stale view in flight,
    however late the fake logs it (0.3 s after, in the CI run that failed)."""
    found = cooling([cooled(), attempt("late", 100.5, 0.52)], [hit("late", SET_AT + 0.3)])
    assert violations(found) == []
    assert found.figures["stale_views_in_flight"] == 1
    assert found.figures["send_lag_max_ms"] == 320.0


def test_a_send_chosen_while_the_key_cooled_is_a_violation() -> None:
    """A call the proxy started 0.4 s into the cooldown is caught, a stale view to blame."""
    found = cooling([cooled(), attempt("blind", 100.9, 0.5)], [hit("blind", SET_AT + 0.45)])
    assert violations(found) == [
        f"blind on {KM} chosen at +0.400 s (reached the fake at +0.450 s) of [100.000, 103.700]"
    ]
    assert found.figures["attempts_while_cooling"] == {"stale_view": 1}


def test_after_a_slot_wait_the_send_is_judged_when_the_wait_ended() -> None:
    """An attempt that queued for a provider slot from before the cooldown until inside it
    must have looked again when the wait ended: a send after that is a violation."""
    wait = {
        "event": "cooldown_set",
        "ts": SET_AT + 0.4,
        "request_id": "queued",
        "provider": "p1",
        "failure_kind": "concurrency_wait",
    }
    found = cooling([cooled(), attempt("queued", 100.8, 1.3), wait], [hit("queued", 100.45)])
    assert len(violations(found)) == 1
    assert found.figures["attempts_while_cooling"] == {"slot_wait": 1}


def test_the_next_attempts_slot_wait_is_not_this_ones() -> None:
    """A wait for a slot that ended after this attempt's line is the request's next attempt's:
    it does not move this attempt's choice into the cooldown (a lagging load showed this)."""
    wait = {
        "event": "cooldown_set",
        "ts": SET_AT + 0.608,
        "request_id": "moved_on",
        "provider": "p1",
        "failure_kind": "concurrency_wait",
    }
    lines = [cooled(), attempt("moved_on", SET_AT + 0.367, 0.692), wait]
    found = cooling(lines, [hit("moved_on", SET_AT + 0.361)])
    assert violations(found) == []
    assert found.figures["stale_views_in_flight"] == 1


def test_an_audited_start_long_before_the_arrival_does_not_excuse_it() -> None:
    """No engine path holds a chosen send for seconds: an attempt said to start 5.5 s before
    the fake saw it, inside the cooldown, is judged 2 s before the arrival and caught."""
    found = cooling([cooled(), attempt("early", 102.6, 5.6)], [hit("early", SET_AT + 2.5)])
    assert len(violations(found)) == 1


def test_kill_cooldowns_hold_the_restarted_proxy_not_the_killed_ones_calls() -> None:
    """The store's cooldowns at a kill bind every call chosen after it; a call the killed
    proxy had sent, which the fake logs after the kill, is not a send by the restarted one."""
    kills = [(SET_AT, {"km:p1:b#fp|m1": Health(cooldown_until=UNTIL, cooldown_reason="x")})]
    lines = [attempt("killed", 99.9, 0.1), attempt("restarted", 100.9, 0.1)]
    hits = [hit("killed", SET_AT + 0.35), hit("restarted", 100.81)]
    found = cooling(lines, hits, kills=kills)
    assert [v.split()[0] for v in violations(found)] == ["restarted"]


MODEL = "model:p1/m1"
#: The CI run that failed: a 1 s cooldown on a model, cleared 0.6 s in by an all-cooling
#: probe's answer whose attempt line the kill lost; the restarted proxy sent 0.69 s in.
COOLED_UNTIL, CLEARED_AT, KILLED_AT = SET_AT + 1.0, SET_AT + 0.6, SET_AT + 0.62


def killed_after_a_probe(*more: dict[str, Any]) -> list[dict[str, Any]]:
    """The audit of a kill just after a probe's answer on p1/m1: the model's cooldown and the
    probe's claim, but not the answered attempt line (the kill lost it), then ``more``."""
    return [
        line(
            "cooldown_set",
            SET_AT,
            "setter",
            reason="server_error",
            cooldown_until=COOLED_UNTIL,
            detail="model",
        ),
        line("probe", CLEARED_AT - 0.002, "probe", detail="all_cooling"),
        *more,
    ]


def restarted() -> dict[str, Any]:
    """The restarted proxy's first answer on p1/m1, sent 0.69 s into the cooldown."""
    return line("attempt", SET_AT + 0.692, "restarted", attempt=1, status=200, ttfb_ms=2.0)


def at_kill(health: Health) -> list[tuple[float, dict[str, Health]]]:
    """The kill, with the model's health as the store held it."""
    return [(KILLED_AT, {MODEL: health})]


CLEARED = Health(last_used_at=CLEARED_AT, last_good_at=CLEARED_AT)


def test_a_clear_whose_answer_the_kill_kept_out_of_the_audit_ends_the_cooldown() -> None:
    """The store holds the model cleared by an answer the audit lacks (the fake got the call,
    no attempt line has it): the restarted proxy's send after the clear is no violation."""
    hits = [hit("probe", CLEARED_AT - 0.001), hit("restarted", SET_AT + 0.691)]
    found = cooling(killed_after_a_probe(restarted()), hits, kills=at_kill(CLEARED))
    assert violations(found) == []
    assert found.figures["upstream_calls_not_audited"] == 1


def test_a_lost_clear_excuses_no_send_to_a_key_that_still_cooled() -> None:
    """Still caught: a send when the store held the cooldown at the kill; a send after a clear
    that no unaudited call explains; and a send chosen before the clear."""
    hits = [hit("probe", CLEARED_AT - 0.001), hit("restarted", SET_AT + 0.691)]
    held = Health(cooldown_until=COOLED_UNTIL, cooldown_reason="server_error")
    found = cooling(killed_after_a_probe(restarted()), hits, kills=at_kill(held))
    assert [v.split()[0] for v in violations(found)] == ["restarted"]
    found = cooling(killed_after_a_probe(restarted()), hits[1:], kills=at_kill(CLEARED))
    assert [v.split()[0] for v in violations(found)] == ["restarted"]
    blind = attempt("blind", SET_AT + 0.35, 0.05)  # chosen 0.3 s in, before the clear
    hits.append(hit("blind", SET_AT + 0.31))
    found = cooling(killed_after_a_probe(blind, restarted()), hits, kills=at_kill(CLEARED))
    assert [v.split()[0] for v in violations(found)] == ["blind"]


def outcome(rid: str, *, status: int = 0) -> Outcome:
    """A client outcome of ``rid`` that ended in an exception (after a reply's ``status``)."""
    return Outcome(0, rid, f"t-{rid}", False, "exception", status, 1.0, detail="ReadError: x")


def test_client_exceptions_say_whether_the_request_reached_the_proxy() -> None:
    """A client exception with no audit line, no upstream call and no reply never reached the
    proxy; one the audit or a fake has seen did, and is the proxy's failure to answer."""
    lines = [line("attempt", 100.0, "seen", attempt=1, status=500, latency_ms=5.0)]
    hits = [hit("called", 99.0)]
    runs = [outcome("lost"), outcome("seen"), outcome("called"), outcome("replied", status=200)]
    found = check_all(runs, lines, hits)
    assert found.figures["client_exceptions_never_reached"] == 1
    assert sorted(found.violations["answer_or_structured_error"]) == [
        "called: exception (reached the proxy) ReadError: x",
        "lost: exception (never reached the proxy) ReadError: x",
        "replied: exception (reached the proxy) ReadError: x",
        "seen: exception (reached the proxy) ReadError: x",
    ]


def test_a_failure_under_a_longer_kept_cooldown_counts_as_its_own_reason() -> None:
    """A 500 whose own cooldown is shorter than the timeout cooldown already stored writes a
    cooldown_set line naming the kept reason (timeout); the store counts it as a
    server_error, and so must the check (found by the 4-process soak: "timeout count 3 < 4")."""
    model = {"detail": "model", "cooldown_until": 110.0}
    lines = [
        line("attempt", 99.0, "ok", attempt=1, status=200),
        line("attempt", 100.0, "slow", attempt=1, reason="timeout", latency_ms=30e3),
        line("cooldown_set", 100.0, "slow", reason="timeout", **model),
        line("attempt", 101.0, "boom", attempt=1, status=500, reason="server_error"),
        line("cooldown_set", 101.0, "boom", reason="timeout", **model),
    ]
    counts = {"timeout": 1, "server_error": 1}
    stored = Health(
        cooldown_until=110.0,
        cooldown_reason="timeout",
        failure_counts=counts,
        last_failure_at=101.0,
    )
    found = check_all([], lines, [], items={"model:p1/m1": stored})
    assert found.figures["failures_checked_in_store"] == 2
    assert "no_lost_update" not in found.violations
    short = Health(cooldown_until=110.0, cooldown_reason="timeout", failure_counts={"timeout": 1})
    lost = check_all([], lines, [], items={"model:p1/m1": short})
    assert lost.violations["no_lost_update"] == ["model:p1/m1: server_error count 0 < 1 audited"]
