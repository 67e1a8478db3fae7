"""kill -9 under load, 20 times: the state and the audit stay readable, cooldowns and failure
counts survive the restart, and the restarted proxy keeps to them."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from openclaw_failover._ports import Health
from openclaw_failover.stores import FileStateStore
from openclaw_failover.testing import HttpError
from tests.fixtures.chaos import ChaosWorld, crash_and_restart, log_problems
from tests.fixtures.chaos_checks import check_all, fake_hits, read_lines
from tests.test_reliability_soak import ALWAYS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

KILLS = 20
FAILING = 6  # of which, with every upstream failing (failure counts grow across restarts)


def one_more_failure(world: ChaosWorld, found: Mapping[str, Health]) -> dict[str, tuple[int, int]]:
    """Once every cooldown and probe lease in ``found`` (the store after the last kill) has
    run out, one request through a freshly started proxy, every upstream failing: for each
    model key it cooled, (server_error count found, count after)."""
    until = max((max(h.cooldown_until, h.probe_until) for h in found.values()), default=0.0)
    time.sleep(min(15.0, max(0.0, until - time.time()) + 0.2))
    with world.serve() as served:
        reply = httpx.post(
            f"{served.url}/v1/chat/completions",
            json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]},
            headers={"x-request-id": "after-the-last-restart"},
            timeout=60,
        )
    assert reply.status_code == 429, reply.text[:300]
    lines, _ = read_lines(world.audit_path)
    cooled = {
        f"model:{ln['provider']}/{ln['model']}"
        for ln in lines
        if ln["request_id"] == "after-the-last-restart"
        and ln["event"] == "cooldown_set"
        and ln.get("detail") == "model"
    }
    after = asyncio.run(FileStateStore(world.state_dir).items())
    return {
        name: (found[name].failure_counts.get("server_error", 0), count(after[name]))
        for name in cooled
        if name in found and found[name].failure_counts.get("server_error", 0) > 0
    }


def count(health: Health) -> int:
    """The server_error counter."""
    return health.failure_counts.get("server_error", 0)


def test_kill_9_under_load_twenty_times(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """20 SIGKILLs of a loaded proxy, each followed by a restart on the same state dir: every
    store read opens whole, the audit has at most one damaged line per kill (skipped with a
    warning), no request gets two outcome lines or a truncated answer presented as whole, no
    restarted proxy sends to a key the store held cooling at the kill, the final store holds
    every failure audited since each key's last answer, and a proxy started after the last
    kill counts on from the failure counts it found."""
    caplog.set_level(logging.WARNING, logger="openclaw_failover.audit")
    with ChaosWorld(tmp_path, seed=5) as world:
        run = crash_and_restart(world, kills=KILLS - FAILING, concurrency=50, seed=5)
        for fake in world.fakes.values():  # the last kills land while everything fails
            fake.rules.default = HttpError(500)
        tail = crash_and_restart(world, kills=FAILING, concurrency=50, seed=6)
        hits = fake_hits(world.fakes, offset_s=run.offset_s)
        lines, stats = read_lines(world.audit_path)
        items = asyncio.run(FileStateStore(world.state_dir).items())
        escalated = one_more_failure(world, items)
    kills = run.kills + tail.kills
    outcomes = run.outcomes + tail.outcomes
    findings = check_all(outcomes, lines, hits, items=items, kills=kills)
    cooling_at_kills = sum(
        1 for killed_at, found in kills for h in found.values() if h.cooldown_until > killed_at
    )
    figures = {
        **findings.figures,
        "kills": KILLS,
        "audit_lines_skipped": stats.skipped,
        "cooldowns_live_at_kills": cooling_at_kills,
        "restart_s_max": round(max(run.restart_s + tail.restart_s), 2),
        "counts_continued_after_restart": escalated,
    }
    print(f"\ncrash: {json.dumps(figures, sort_keys=True)}")
    assert log_problems(run.log + tail.log) == []
    assert stats.skipped <= KILLS
    assert sum("skipped" in r.getMessage() for r in caplog.records) == stats.skipped
    assert cooling_at_kills > 0  # the kills landed while keys were cooling
    assert escalated, "the request after the last restart failed on no key with a history"
    assert all(after == before + 1 for before, after in escalated.values()), escalated
    assert findings.figures["requests"] > KILLS * 20
    failed = {k: v for k, v in findings.failed().items() if k in ALWAYS}
    assert not failed, json.dumps(failed, indent=1)
    journal = world.state_dir / "state.journal"
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert stat.S_IMODE(world.audit_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(world.state_dir.stat().st_mode) == 0o700
