"""Chaos soak against the real proxy process: every provider a random mix of every fault.

The short versions of ``benchmarks/chaos_soak.py`` (which runs 20,000 requests): 2,000
requests at 50 in flight through one ``openclaw-failover serve``, and the same load spread over
4 processes sharing one state directory. The invariants are in ``tests/fixtures/chaos_checks``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from openclaw_failover.cli._serve import KEEP_ALIVE_S
from openclaw_failover.stores import FileStateStore
from openclaw_failover.testing import HttpError
from tests.fixtures.chaos import (
    CLIENT_KEEPALIVE_S,
    ChaosWorld,
    all_keys,
    log_problems,
    percentile_ms,
    soak,
)
from tests.fixtures.chaos_checks import Findings, check_all, fake_hits, read_lines

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

#: Invariants that must hold in every soak.
ALWAYS = (
    "one_outcome_line",
    "answer_or_structured_error",
    "client_matches_audit",
    "audit_matches_fakes",
    "attempt_cap",
    "per_key_cap",
    "no_attempt_while_cooling",
    "retry_after_honoured",
    "one_probe_per_expiry",
    "cooldown_never_shortened",
    "no_lost_update",
)


def report(name: str, findings: Findings, latencies: list[float], elapsed_s: float) -> None:
    """Print the figures a soak produced (pytest -s shows them)."""
    figures = {
        **findings.figures,
        "p50_ms": round(percentile_ms(latencies, 0.5), 1),
        "p99_ms": round(percentile_ms(latencies, 0.99), 1),
        "elapsed_s": round(elapsed_s, 1),
    }
    print(f"\n{name}: {json.dumps(figures, sort_keys=True)}")


def assert_held(findings: Findings) -> None:
    """Every invariant held (the message lists up to five examples of each that did not)."""
    failed = {k: v for k, v in findings.failed().items() if k in ALWAYS}
    assert not failed, json.dumps(failed, indent=1)
    assert set(findings.violations) <= set(ALWAYS)


def test_soak_2000_requests_keeps_every_invariant(tmp_path: Path) -> None:
    """2,000 requests (half streamed) through one proxy process over fakes misbehaving at
    random: each ends in a whole answer or a structured error, one outcome line each, no
    traceback in the log, caps kept, no key tried while cooling, Retry-After kept, one probe
    per expiry, no cooldown shortened."""
    with ChaosWorld(tmp_path, seed=11) as world:
        run = soak(world, requests=2000, concurrency=50, seed=11)
        hits = fake_hits(world.fakes, offset_s=run.offset_s)
    lines, stats = read_lines(world.audit_path)
    items = asyncio.run(FileStateStore(world.state_dir).items())
    findings = check_all(run.outcomes, lines, hits, items=items)
    report("soak", findings, [o.latency_s for o in run.outcomes], run.elapsed_s)
    assert log_problems(run.log) == []
    assert stats.skipped == 0
    raised = [f"{o.request_id}: {o.detail}" for o in run.outcomes if o.kind == "exception"]
    # The proxy keeps an idle connection open longer than this client does, so it never closes
    # one the client is reusing: a request lost before the proxy saw it is a failure too.
    assert KEEP_ALIVE_S > CLIENT_KEEPALIVE_S
    unseen = findings.figures["client_exceptions_never_reached"]
    assert unseen == 0, findings.violations["answer_or_structured_error"]
    assert findings.figures["outcome_lines"] == 2000, raised
    written = b"".join(p.read_bytes() for p in world.state_dir.rglob("*") if p.is_file())
    for key in all_keys():  # nor a key in the log, the audit or the state
        assert key not in "".join(run.log)
        assert key.encode() not in written
    assert findings.figures["outcomes"].get("answered", 0) > 0  # the mix lets answers through
    assert sum(1 for o in run.outcomes if o.kind == "stream_error") > 0  # and breaks streams
    assert findings.figures["expiries"] > 0
    assert_held(findings)


def test_four_processes_share_one_state_dir_under_the_soak(tmp_path: Path) -> None:
    """4 proxy processes on one state directory and audit file, 1,200 requests round robin,
    then 300 more while every upstream fails: the soak's invariants hold across processes,
    and the store holds every failure the audit recorded since each key's last answer."""
    with ChaosWorld(tmp_path, seed=23) as world:
        run = soak(world, requests=1200, concurrency=50, proxies=4, seed=23)
        for fake in world.fakes.values():
            fake.rules.default = HttpError(500)
        tail = soak(world, requests=300, concurrency=50, proxies=4, seed=24)
        hits = fake_hits(world.fakes, offset_s=run.offset_s)
    lines, stats = read_lines(world.audit_path)
    items = asyncio.run(FileStateStore(world.state_dir).items())
    outcomes = run.outcomes + tail.outcomes
    findings = check_all(outcomes, lines, hits, items=items)
    report("4 processes", findings, [o.latency_s for o in outcomes], run.elapsed_s + tail.elapsed_s)
    assert log_problems(run.log + tail.log) == []
    assert stats.skipped == 0
    assert findings.figures["failures_checked_in_store"] > 10
    assert_held(findings)
