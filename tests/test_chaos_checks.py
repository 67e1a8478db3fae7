"""The chaos soak's checker on hand-made records: how it tells a request that never reached
the proxy from one the proxy lost."""

from __future__ import annotations

from typing import Any

from openclaw_failover.testing import Ok
from tests.fixtures.chaos import ANSWER, Outcome
from tests.fixtures.chaos_checks import Hit, check_all


def line(event: str, ts: float, rid: str, **fields: Any) -> dict[str, Any]:
    """An audit line of request ``rid`` on p1/m1 with key p1:b."""
    base = {"provider": "p1", "model": "m1", "profile": "p1:b", "trace_id": f"t-{rid}"}
    return {"event": event, "ts": ts, "request_id": rid, **base, **fields}


def hit(rid: str, at: float) -> Hit:
    """The fake's record of ``rid``'s call on p1/m1 with key p1:b, arriving at ``at``."""
    return Hit("p1", "p1:b", "m1", at, f"t-{rid}", Ok(ANSWER))


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
