"""Time ``report`` over a generated audit log of N lines (default 1 million).

    .venv/bin/python benchmarks/report_scale.py [--lines 1000000] [--keep FILE]

The log mixes attempts, skips, cooldowns and outcomes over 7 days, three providers, two keys
each and 5,000 sessions, shaped like the engine's lines (``AuditRecord.to_json``). It prints the
generation time, the report time, lines per second, and the ratio to parsing the lines alone
(measured in the same run); the target is well under 10 s.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import orjson

from openclaw_failover._ports import AuditRecord
from openclaw_failover._report import build_report

START = 1_800_000_000.0
CANDIDATES = (
    ("anthropic", "claude-opus-4-6", "cloud"),
    ("openai", "gpt-5.4-mini", "cloud"),
    ("ollama", "qwen3:8b", "local"),
)
REASONS = ("rate_limit", "timeout", "server_error", "auth")


def _intent(rng: random.Random, n: int, ts: float) -> list[bytes]:
    """The lines of one intent: failing attempts down the chain, then an outcome."""
    request_id = f"req-{n}"
    session = f"sess-{rng.randrange(5000)}"
    lines: list[AuditRecord] = []
    failures = rng.choices((0, 1, 2, 3), weights=(80, 12, 6, 2))[0]
    for attempt, (provider, model, tier) in enumerate(CANDIDATES[:failures], start=1):
        reason = rng.choice(REASONS)
        status = {"rate_limit": 429, "auth": 401, "server_error": 503}.get(reason)
        lines.append(
            AuditRecord(
                event="attempt",
                ts=ts,
                request_id=request_id,
                session_id=session,
                route="auto",
                route_version="rv1",
                provider=provider,
                model=model,
                profile=f"{provider}:{attempt % 2}",
                tier=tier,
                attempt=attempt,
                status=status,
                reason=reason,
                latency_ms=rng.uniform(5, 900),
            )
        )
        if reason == "rate_limit":
            lines.append(
                AuditRecord(
                    event="cooldown_set",
                    ts=ts,
                    request_id=request_id,
                    provider=provider,
                    model=model,
                    profile=f"{provider}:0",
                    reason=reason,
                    cooldown_until=ts + 30,
                )
            )
    if failures < len(CANDIDATES):
        provider, model, tier = CANDIDATES[failures]
        lines.append(
            AuditRecord(
                event="attempt",
                ts=ts,
                request_id=request_id,
                session_id=session,
                route="auto",
                route_version="rv1",
                provider=provider,
                model=model,
                profile=f"{provider}:0",
                tier=tier,
                attempt=failures + 1,
                status=200,
                latency_ms=rng.uniform(50, 3000),
            )
        )
        outcome = "answered_downgraded" if failures else "answered"
    else:
        provider, model, tier = CANDIDATES[-1]
        outcome = "hard_stop"
    lines.append(
        AuditRecord(
            event="outcome",
            ts=ts,
            request_id=request_id,
            session_id=session,
            route="auto",
            route_version="rv1",
            provider=provider,
            model=model,
            tier=tier,
            outcome=outcome,
            downgraded=failures > 0,
            latency_ms=rng.uniform(50, 4000),
        )
    )
    return [orjson.dumps(r.to_json()) for r in lines]


def generate(path: Path, lines: int, *, seed: int = 7) -> int:
    """Write about ``lines`` audit lines over 7 days; return the number written."""
    rng = random.Random(seed)
    written = 0
    n = 0
    step = 7 * 86400 / max(1, lines / 2.6)
    with path.open("wb") as handle:
        while written < lines:
            batch = _intent(rng, n, START + n * step)
            handle.write(b"\n".join(batch[: lines - written]) + b"\n")
            written += min(len(batch), lines - written)
            n += 1
    return written


def main() -> None:
    """Generate, time one report, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="write the log here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "audit.jsonl"
        started = time.perf_counter()
        written = generate(path, args.lines)
        generated_s = time.perf_counter() - started
        started = time.perf_counter()
        report = build_report(path, now=START + 8 * 86400, since_s=14 * 86400)
        report_s = time.perf_counter() - started
        started = time.perf_counter()
        with path.open("rb") as handle:
            for raw in handle:
                orjson.loads(raw)
        parse_s = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
    totals = report.to_json()["totals"]
    print(f"lines: {written:,} ({size_mb:.0f} MB); generated in {generated_s:.1f} s")
    print(f"report: {report_s:.2f} s  ({written / report_s:,.0f} lines/s); target < 10 s")
    print(f"parse only: {parse_s:.2f} s; report / parse = {report_s / parse_s:.2f}x")
    print(
        f"intents: {totals['intents']:,}; fallback share {totals['fallback_share']:.3f}; "
        f"hard-stop share {totals['hard_stop_share']:.3f}"
    )


if __name__ == "__main__":
    main()
