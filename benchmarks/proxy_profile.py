"""Where the proxy's time goes: a py-spy profile of ``openclaw-failover serve`` under wrk.

    .venv/bin/python benchmarks/proxy_profile.py [--conns 10] [--seconds 8]

The same fake, config, wrk script and pinning as ``proxy_overhead.py`` (the proxy on cpu 0;
wrk and the fake on cpu 1). It first runs wrk against the proxy and against the bare relay
(uvicorn + httpx over the same pooled transport, no logic: the usual Python stack, a
yardstick) with no profiler. At c=10 each server's core is saturated, so one over its
throughput is the CPU it spends per request. Then it samples the proxy with py-spy while
wrk runs again, and splits the samples by where they were spent: our package (by module),
uvicorn and httptools, Starlette, httpx, asyncio/uvloop, and the audit writer thread. Time in
the standard library (json, contextlib, a NamedTuple's constructor) is charged to the nearest
caller in one of those. The shares are applied to the unprofiled CPU per request and printed
in microseconds, beside the relay's and the floor's (``_bare_relay.py --ours``: the relay on
our own server and pooled transport, what serving costs with no failover logic). py-spy
charges time in a system call to the Python frame that made it, so the process's own user and
kernel CPU counts (``/proc/PID/stat``) are printed too: the kernel's part is mostly loopback
TCP (the socket calls and the peer's wake-up).

Samples are taken with ``--gil``: only the thread holding the GIL counts, so a thread waiting
for it (the event loop while the audit writer runs) is not counted twice. py-spy is taken from
PATH, else installed with pip into ``~/.cache/openclaw-failover/py-spy`` (the benchmark stops
with a message if it cannot be). It needs ptrace rights over the proxy
(root, or ``kernel.yama.ptrace_scope`` 0).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po

SPY_HOME = Path.home() / ".cache" / "openclaw-failover" / "py-spy"
_FRAME_FILE = re.compile(r"\(([^()]*?):\d+\)$")


def cpu_ticks(pid: int) -> tuple[int, int]:
    """User and kernel CPU ticks of ``pid`` and its threads so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def ensure_py_spy() -> str:
    found = shutil.which("py-spy") or (
        str(SPY_HOME / "bin" / "py-spy") if (SPY_HOME / "bin" / "py-spy").exists() else None
    )
    if found:
        return found
    print(f"py-spy is missing: installing it into {SPY_HOME} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(SPY_HOME), "py-spy"],
        check=False,
    )
    binary = SPY_HOME / "bin" / "py-spy"
    if not binary.exists():
        raise SystemExit("py-spy is needed: pip install py-spy")
    return str(binary)


_LIBRARIES = (
    ("uvicorn", "uvicorn + httptools"),
    ("httptools", "uvicorn + httptools"),
    ("starlette", "starlette"),
    ("httpx", "httpx"),
    ("httpcore", "httpx"),
    ("asyncio", "asyncio / uvloop"),
    ("uvloop", "asyncio / uvloop"),
    ("prometheus_client", "prometheus_client"),
)


def component(frame: str) -> str | None:
    """The package a frame belongs to; None for the standard library and generated code,
    whose time is charged to the nearest caller that has one."""
    match = _FRAME_FILE.search(frame)
    where = match.group(1) if match else frame
    if "openclaw_failover/" in where:
        return "ours: " + where.split("openclaw_failover/", 1)[1]
    for name, label in _LIBRARIES:
        if name in where:
            return label
    return None


def split(raw: Path) -> tuple[collections.Counter[str], int, int]:
    """Busy samples per component, the total, and those in the audit writer thread."""
    parts: collections.Counter[str] = collections.Counter()
    total = audit = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        if any("JsonlAuditSink._run" in f for f in frames):
            audit += n
            parts["ours: the audit writer thread"] += n
            continue
        owner = next((c for f in reversed(frames) if (c := component(f))), "stdlib and other")
        parts[owner] += n
    return parts, total, audit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conns", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--keep", type=Path, help="copy py-spy's raw samples to this file")
    args = parser.parse_args()
    po.ensure_wrk()
    spy = ensure_py_spy()
    print(po.machine())
    procs = po.Processes()
    work = Path(tempfile.mkdtemp(prefix="proxy-profile-"))
    try:
        fake, port = po.start_fake(procs)
        upstream = f"http://127.0.0.1:{port}"
        ours, ours_url = po.start_ours(procs, po.happy_config(upstream), work, "ours")
        relay, relay_url = po.start_relay(procs, upstream)
        floor, floor_url = po.start_relay(procs, upstream, "--ours")
        targets = {
            "ours": po.Target("ours", f"{ours_url}/v1/chat/completions", "auto", "x", ours.pid),
            "relay": po.Target("relay", f"{relay_url}/v1/chat/completions", "fake", "x", relay.pid),
            "floor": po.Target("floor", f"{floor_url}/v1/chat/completions", "fake", "x", floor.pid),
        }
        for process in (ours, relay, floor):
            po.pin(process.pid, po.PROXY_CPU)
        po.pin(fake.pid, po.LOAD_CPU)
        po.SERVING[:] = [ours.pid, relay.pid, floor.pid]
        per_request: dict[str, float] = {}
        for name, target in targets.items():
            with po.quiet(target.pid):
                po.run_wrk(target, conns=args.conns, seconds=2, cpus=po.LOAD_CPU, work=work)
                before = cpu_ticks(target.pid)
                result = po.run_wrk(
                    target, conns=args.conns, seconds=args.seconds, cpus=po.LOAD_CPU, work=work
                )
                user, system = (b - a for a, b in zip(before, cpu_ticks(target.pid), strict=True))
            per_request[name] = 1e6 / result.rps
            requests = result.rps * round(args.seconds)
            tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
            print(
                f"{name}: {result.rps:,.0f} rps at c={args.conns}, p50 {result.p50_ms:.2f} ms, "
                f"so {per_request[name]:.0f} us of its core per request (the process's own "
                f"count: {user * tick_us / requests:.0f} us user, "
                f"{system * tick_us / requests:.0f} us kernel)"
            )
        raw = work / "ours.raw"
        with po.quiet(ours.pid):
            record = ["record", "-p", str(ours.pid), "-r", "400", "-d", str(round(args.seconds))]
            sampler = subprocess.Popen(
                [spy, *record, "-f", "raw", "-o", str(raw), "--nonblocking", "--gil"],
                env={**os.environ, "PYTHONPATH": str(SPY_HOME)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            po.run_wrk(
                targets["ours"], conns=args.conns, seconds=args.seconds, cpus=po.LOAD_CPU, work=work
            )
            sampler.wait(args.seconds + 60)
        if not raw.exists():
            raise SystemExit("py-spy wrote no profile (no ptrace rights over the proxy?)")
        if args.keep is not None:
            shutil.copyfile(raw, args.keep)
        report(raw, per_request)
    finally:
        procs.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(raw: Path, per_request: dict[str, float]) -> None:
    parts, total, audit = split(raw)
    if total == 0:
        raise SystemExit("py-spy took no busy samples")
    ours_us, relay_us = per_request["ours"], per_request["relay"]
    print(f"\nproxy busy samples: {total:,} (audit writer thread: {audit * 100 / total:.1f}%)")
    print(f"{'where the proxy spends its CPU':<52} {'share':>6} {'us/req':>8}")
    ours_share = 0.0
    for name, count in parts.most_common():
        share = count / total
        if name.startswith("ours"):
            ours_share += share
        print(f"{name:<52} {share * 100:5.1f}% {share * ours_us:8.1f}")
    unattributed = parts["stdlib and other"] / total
    outside = 1.0 - ours_share - unattributed
    print(
        f"\nper request: proxy {ours_us:.0f} us = ours {ours_share * ours_us:.0f} us + the "
        f"libraries {outside * ours_us:.0f} us + stacks with no package "
        f"{unattributed * ours_us:.0f} us; the bare relay {relay_us:.0f} us"
    )
    print(
        f"proxy / relay CPU per request: {ours_us / relay_us:.2f}x; our package's share of the "
        f"proxy's CPU: {ours_share * 100:.0f}%"
    )
    floor_us = per_request["floor"]
    print(
        f"the floor (the relay on our own server and pooled transport, no logic): {floor_us:.0f}"
        f" us per request, so the failover logic costs {ours_us - floor_us:.0f} us "
        f"({(ours_us - floor_us) * 100 / ours_us:.0f}% of the proxy's)"
    )


if __name__ == "__main__":
    main()
