"""The proxy of this tree against the proxy of another commit, side by side in one run.

    .venv/bin/python benchmarks/proxy_side_by_side.py --base REV [--rounds 3] [--seconds 4]

Timings on this machine drift by up to 2x between hours, so a change is judged against the
old code measured in the same minutes. This checks ``REV`` out into a temporary git worktree,
then alternates the two: for each round, each tree's ``openclaw-failover serve`` (the happy
config of ``proxy_overhead.py``: file state store, audit file) is started pinned to cpu 0,
warmed up, and loaded by wrk at concurrency 10 from cpu 1 against the same fast fake. The old
tree runs from its worktree (``PYTHONPATH``), with this tree's installed dependencies.

It prints, per tree, the median over rounds of throughput, p50 and p99 latency, and the CPU
the serving process spent per request in user and kernel mode (``/proc/PID/stat``), then the
ratio of the two throughputs. At c=10 the proxy's core is saturated, so one over the
throughput is its CPU per request, and the added latency is about ten times that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po
from proxy_profile import cpu_ticks

ROOT = Path(__file__).resolve().parent.parent
CONNS = 10


def measure(tree: Path | None, upstream: str, work: Path, seconds: float) -> dict[str, float]:
    """One serve process of ``tree`` (None: this one), loaded once; its figures."""
    procs = po.Processes()
    saved = os.environ.get("PYTHONPATH")
    if tree is not None:
        os.environ["PYTHONPATH"] = str(tree)
    try:
        name = f"serve-{len(list(work.iterdir()))}"
        serve, url = po.start_ours(procs, po.happy_config(upstream), work, name)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        po.pin(serve.pid, po.PROXY_CPU)
        target = po.Target(name, f"{url}/v1/chat/completions", "auto", "x", serve.pid)
        po.run_wrk(target, conns=CONNS, seconds=2, cpus=po.LOAD_CPU, work=work)
        before = cpu_ticks(serve.pid)
        result = po.run_wrk(target, conns=CONNS, seconds=seconds, cpus=po.LOAD_CPU, work=work)
        user, system = (b - a for a, b in zip(before, cpu_ticks(serve.pid), strict=True))
    finally:
        procs.stop()
    requests = result.rps * round(seconds)
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    return {
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "user_us": user * tick_us / requests,
        "kernel_us": system * tick_us / requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    po.ensure_wrk()
    print(po.machine())
    work = Path(tempfile.mkdtemp(prefix="proxy-side-by-side-"))
    tree = work / "base"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.base],
        check=True,
    )
    runs = work / "runs"
    runs.mkdir()
    procs = po.Processes()
    figures: dict[str, list[dict[str, float]]] = {"this tree": [], args.base: []}
    try:
        fake, port = po.start_fake(procs)
        po.pin(fake.pid, po.LOAD_CPU)
        upstream = f"http://127.0.0.1:{port}"
        for round_ in range(args.rounds):
            for label, where in (("this tree", None), (args.base, tree)):
                found = measure(where, upstream, runs, args.seconds)
                figures[label].append(found)
                print(f"round {round_ + 1} {label}: {found['rps']:,.0f} rps", flush=True)
    finally:
        procs.stop()
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )
        shutil.rmtree(work, ignore_errors=True)
    report(figures)


def report(figures: dict[str, list[dict[str, float]]]) -> None:
    print(f"\nc={CONNS}, pinned, median of {len(next(iter(figures.values())))} rounds:")
    medians = {
        label: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        for label, rounds in figures.items()
    }
    for label, m in medians.items():
        print(
            f"  {label:<12} {m['rps']:8,.0f} rps  p50 {m['p50_ms']:.2f} ms  p99 "
            f"{m['p99_ms']:.2f} ms  CPU per request {m['user_us']:.0f} us user + "
            f"{m['kernel_us']:.0f} us kernel"
        )
    ours, base = medians.values()
    print(f"throughput ratio (this tree / base): {ours['rps'] / base['rps']:.2f}x")


if __name__ == "__main__":
    main()
