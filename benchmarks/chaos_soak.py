"""Chaos soak, crash/restart, 4 processes and slow loris against the real proxy process.

    .venv/bin/python benchmarks/chaos_soak.py [--requests 20000] [--concurrency 50]
        [--proxies-requests 4000] [--kills 20] [--skip soak,procs,crash,loris] [--json]

Loopback only, bounded: every provider is a fake on 127.0.0.1 playing a seeded random mix of
every fault (200, 429 with and without Retry-After, 401, 402, 5xx/529, hangs before headers
and mid-stream, resets, cut streams, a malformed event, an empty 200, slow first tokens),
first-token deadlines of 1 s, half the requests streamed. The world, the load and every
invariant are shared with the test suite (``tests/fixtures/chaos*.py``, whose short versions
are ``tests/test_reliability_*.py``). Prints, per phase, the figures and the invariants that
did not hold (none, when all is well), and exits 1 if any did not.

- soak: ``--requests`` through one ``openclaw-failover serve``; p50/p99 latency;
- procs: ``--proxies-requests`` over 4 processes sharing one state dir;
- crash: ``--kills`` SIGKILLs under load, each followed by a restart;
- loris: 200 requests at 50 in flight, alone and beside 20 clients trickling 1 byte/s; the
  p99 of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openclaw_failover.stores import FileStateStore  # noqa: E402  (after the path fix)
from openclaw_failover.testing import FakeOpenAIServer  # noqa: E402
from tests.fixtures.chaos import (  # noqa: E402
    ChaosWorld,
    crash_and_restart,
    log_problems,
    loris_trial,
    percentile_ms,
    soak,
)
from tests.fixtures.chaos_checks import check_all, fake_hits, read_lines  # noqa: E402
from tests.fixtures.proxy import serve_process  # noqa: E402


def latency(values: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    return {
        "p50_ms": round(percentile_ms(values, 0.5), 1),
        "p99_ms": round(percentile_ms(values, 0.99), 1),
    }


def soak_phase(
    root: Path, *, requests: int, concurrency: int, proxies: int, seed: int
) -> dict[str, Any]:
    """One soak over a fresh world; its figures and failed invariants."""
    with ChaosWorld(root, seed=seed) as world:
        run = soak(world, requests=requests, concurrency=concurrency, proxies=proxies, seed=seed)
        hits = fake_hits(world.fakes, offset_s=run.offset_s)
        lines, stats = read_lines(world.audit_path)
    items = asyncio.run(FileStateStore(world.state_dir).items())
    findings = check_all(run.outcomes, lines, hits, items=items)
    return {
        "proxies": proxies,
        "elapsed_s": round(run.elapsed_s, 1),
        "requests_per_s": round(requests / run.elapsed_s, 1),
        **latency([o.latency_s for o in run.outcomes]),
        "client_kinds": _kinds(run.outcomes),
        "audit_lines_skipped": stats.skipped,
        "log_problems": len(log_problems(run.log)),
        **findings.figures,
        "failed": findings.failed(),
    }


def crash_phase(root: Path, *, kills: int, concurrency: int) -> dict[str, Any]:
    """``kills`` SIGKILLs under load; figures and failed invariants."""
    with ChaosWorld(root, seed=5) as world:
        run = crash_and_restart(world, kills=kills, concurrency=concurrency, seed=5)
        hits = fake_hits(world.fakes, offset_s=run.offset_s)
        lines, stats = read_lines(world.audit_path)
    items = asyncio.run(FileStateStore(world.state_dir).items())
    findings = check_all(run.outcomes, lines, hits, items=items, kills=run.kills)
    return {
        "kills": kills,
        "restart_s_max": round(max(run.restart_s), 2),
        "audit_lines_skipped": stats.skipped,
        "log_problems": len(log_problems(run.log)),
        **findings.figures,
        "failed": findings.failed(),
    }


def loris_phase(root: Path) -> dict[str, Any]:
    """200 normal requests at 50 in flight, without and then with 20 slow-loris clients."""
    with FakeOpenAIServer(models=["m1"]) as fake:
        doc = {
            "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
            "providers": {"p1": {"auth": [{"key": "sk-FAKE-loris"}]}},
            "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": fake.url}}},
            "failover": {"state": {"backend": "memory"}, "proxy": {"port": 0}},
        }
        path = root / "loris.json"
        path.write_text(json.dumps(doc))
        env = {"HOME": str(root), "OPENCLAW_STATE_DIR": str(root / "loris-state")}
        with serve_process(str(path), env) as served:
            loris_trial(served.url, loris=0, requests=200)  # warm up
            baseline = loris_trial(served.url, loris=0, requests=200)
            slowed = loris_trial(served.url, loris=20, requests=200)
    base, slow = latency(baseline), latency(slowed)
    return {
        "baseline": base,
        "with_20_slow_loris": slow,
        "p99_ratio": round(slow["p99_ms"] / base["p99_ms"], 2) if base["p99_ms"] else None,
        "completed": len(slowed),
        "failed": {},
    }


def _kinds(outcomes: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.kind] = counts.get(o.kind, 0) + 1
    return counts


def main() -> int:
    """Run the phases, print their figures; 1 when an invariant did not hold."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--proxies-requests", type=int, default=4_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--skip", default="", help="comma-separated phases to skip")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    with tempfile.TemporaryDirectory(prefix="chaos-soak-") as tmp:
        root = Path(tmp)
        phases = {
            "soak": lambda: soak_phase(
                root / "soak",
                requests=args.requests,
                concurrency=args.concurrency,
                proxies=1,
                seed=11,
            ),
            "procs": lambda: soak_phase(
                root / "procs",
                requests=args.proxies_requests,
                concurrency=args.concurrency,
                proxies=4,
                seed=23,
            ),
            "crash": lambda: crash_phase(
                root / "crash", kills=args.kills, concurrency=args.concurrency
            ),
            "loris": lambda: loris_phase(root),
        }
        for name, phase in phases.items():
            if name in skip:
                continue
            (root / name).mkdir(exist_ok=True)
            started = time.perf_counter()
            results[name] = phase()
            results[name]["phase_s"] = round(time.perf_counter() - started, 1)
            if not args.json:
                print(f"{name}: {json.dumps(results[name], sort_keys=True)}", flush=True)
    if args.json:
        print(json.dumps(results, indent=1, sort_keys=True))
    failed = {
        name: r["failed"] for name, r in results.items() if isinstance(r, dict) and r.get("failed")
    }
    if failed:
        print(f"invariants that did not hold: {json.dumps(failed, indent=1)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
