"""Where the proxy's kernel time goes, beside the floor's: ``perf`` samples split by system call.

    .venv/bin/python benchmarks/proxy_kernel.py [--seconds 4] [--rounds 2]

py-spy (``proxy_profile.py``) charges a system call to the Python frame that made it, and
``/proc`` only says how much kernel time a process used. This samples ``openclaw-failover
serve`` and the floor (``_bare_relay.py --ours``: our server and pooled transport with no
failover logic) with ``perf record -g`` while wrk loads each at c=10, with the pinning of
``proxy_overhead.py`` (the server on cpu 0; wrk and the fake on cpu 1), and prints the
kernel's part in microseconds per request: socket writes (and, inside them, waking the peer
that reads the data), socket reads, epoll, the audit file's writes, thread switches (futex
and the scheduler), the rest. On loopback a socket write runs the receiver's side of TCP too,
up to waking the reader; when the reader's cpu is idle that wake-up costs an interrupt to
that cpu, which on a virtual machine is expensive.

perf's sampling slows the process a little, so the figures are for comparing the two servers
with each other. It needs ``perf`` on PATH and the right to sample the processes (root, or
``kernel.perf_event_paranoid`` at most 2 for one's own processes); without it the benchmark
says so and stops.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po

CONNS = 10
#: Row label -> the kernel symbol whose inclusive share it is (``perf report --children``).
ROWS = {
    "kernel, all": "entry_SYSCALL_64_after_hwframe",
    "socket writes": "sock_write_iter",
    "  of which waking the reader": "sock_def_readable",
    "socket reads": "sock_read_iter",
    "epoll waits": "do_epoll_wait",
    "file writes (the audit, the journal)": "ext4_buffered_write_iter",
    "thread switches (futex)": "__x64_sys_futex",
}


def record(target: po.Target, out: Path, seconds: float, work: Path) -> float:
    """Load ``target`` with wrk and ``perf record`` it for ``seconds``; its rps."""
    po.run_wrk(target, conns=CONNS, seconds=2, cpus=po.LOAD_CPU, work=work)
    result: list[po.WrkResult] = []

    def load() -> None:
        result.append(
            po.run_wrk(target, conns=CONNS, seconds=seconds + 2, cpus=po.LOAD_CPU, work=work)
        )

    loader = threading.Thread(target=load)
    loader.start()
    time.sleep(1.0)
    perf = ["perf", "record", "-q", "-g", "-o", str(out), "-p", str(target.pid)]
    subprocess.run([*perf, "--", "sleep", str(seconds)], check=False, capture_output=True)
    loader.join()
    if not out.exists() or not result:
        raise SystemExit(f"perf recorded nothing for {target.name} (no rights to sample it?)")
    return result[0].rps


def shares(data: Path) -> dict[str, float]:
    """Each row's inclusive share of the samples, 0..1 (0 for a symbol never sampled)."""
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--children", "-g", "none", "--sort", "sym"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found: dict[str, float] = {}
    for line in report.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].endswith("%") and parts[2] == "[k]":
            found.setdefault(parts[3], float(parts[0].rstrip("%")) / 100.0)
    return {label: found.get(symbol, 0.0) for label, symbol in ROWS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("perf") is None:
        raise SystemExit("perf is not on PATH: this benchmark needs it (Debian: linux-perf)")
    po.ensure_wrk()
    print(po.machine())
    procs = po.Processes()
    work = Path(tempfile.mkdtemp(prefix="proxy-kernel-"))
    figures: dict[str, list[dict[str, float]]] = {"serve": [], "floor": []}
    try:
        fake, port = po.start_fake(procs)
        upstream = f"http://127.0.0.1:{port}"
        ours, ours_url = po.start_ours(procs, po.happy_config(upstream), work, "ours")
        floor, floor_url = po.start_relay(procs, upstream, "--ours")
        targets = {
            "serve": po.Target("serve", f"{ours_url}/v1/chat/completions", "auto", "x", ours.pid),
            "floor": po.Target("floor", f"{floor_url}/v1/chat/completions", "fake", "x", floor.pid),
        }
        for process in (ours, floor):
            po.pin(process.pid, po.PROXY_CPU)
        po.pin(fake.pid, po.LOAD_CPU)
        po.SERVING[:] = [ours.pid, floor.pid]
        for round_ in range(args.rounds):
            for name, target in targets.items():
                data = work / f"{name}-{round_}.perf"
                with po.quiet(target.pid):
                    rps = record(target, data, args.seconds, work)
                per_request_us = 1e6 / rps
                row = {k: v * per_request_us for k, v in shares(data).items()}
                row["rps"], row["per request"] = rps, per_request_us
                figures[name].append(row)
                print(f"round {round_ + 1}, {name}: {rps:,.0f} rps under perf", flush=True)
    finally:
        procs.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(figures)


def report(figures: dict[str, list[dict[str, float]]]) -> None:
    def med(name: str, key: str) -> float:
        return statistics.median(row[key] for row in figures[name])

    print(f"\nmicroseconds per request at c={CONNS}, pinned, medians of the rounds")
    print(f"{'':<40} {'serve':>8} {'floor':>8} {'serve - floor':>14}")
    for label in ("per request", *ROWS):
        serve, floor = med("serve", label), med("floor", label)
        print(f"{label:<40} {serve:8.1f} {floor:8.1f} {serve - floor:14.1f}")
    print(
        f"throughput under perf: serve {med('serve', 'rps'):,.0f} rps, "
        f"floor {med('floor', 'rps'):,.0f} rps"
    )


if __name__ == "__main__":
    main()
