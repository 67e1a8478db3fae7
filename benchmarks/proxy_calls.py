"""How many Python function calls the proxy makes per request, and which: a cProfile count.

    .venv/bin/python benchmarks/proxy_calls.py [--seconds 4] [--top 40]

``openclaw-failover serve`` runs under cProfile on the happy config of ``proxy_overhead.py``
(pinned to cpu 0; wrk at c=10 and the fast fake on cpu 1), is loaded for ``--seconds``, then
stopped with SIGTERM so cProfile writes its counts. It prints the calls per request (Python
functions and C functions called from Python) and the functions with the most time of their
own per request (a coroutine counts once more each time it resumes after an await, so a
request's one ``_whole`` shows as 2 calls). The profiler slows every call down, so its times
are inflated and only good for comparing functions with each other; the counts are exact. A
call's own time includes the system calls it makes (the socket writes among them), which
cProfile cannot see apart.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    po.ensure_wrk()
    print(po.machine())
    procs = po.Processes()
    work = Path(tempfile.mkdtemp(prefix="proxy-calls-"))
    stats_path = work / "serve.prof"
    try:
        fake, fake_port = po.start_fake(procs)
        po.pin(fake.pid, po.LOAD_CPU)
        config = po.happy_config(f"http://127.0.0.1:{fake_port}")
        port = po.free_port()
        config["failover"]["proxy"] = {"port": port}
        (work / "config.json").write_text(json.dumps(config))
        home = work / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "OPENCLAW_STATE_DIR": str(home / "state")}
        env["BENCH_KEY"] = po.KEY
        profile = [sys.executable, "-m", "cProfile", "-o", str(stats_path)]
        serve = [
            *profile,
            "-m",
            "openclaw_failover",
            "serve",
            "--config",
            str(work / "config.json"),
        ]
        process = procs.add(subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        po.wait_http(f"{url}/healthz", process, "openclaw-failover serve under cProfile")
        po.pin(process.pid, po.PROXY_CPU)
        target = po.Target("ours", f"{url}/v1/chat/completions", "auto", "x", process.pid)
        result = po.run_wrk(target, conns=10, seconds=args.seconds, cpus=po.LOAD_CPU, work=work)
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        if not stats_path.exists():
            raise SystemExit("cProfile wrote no counts (the proxy did not stop cleanly)")
        report(
            pstats.Stats(str(stats_path)), requests=result.rps * round(args.seconds), top=args.top
        )
    finally:
        procs.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(stats: pstats.Stats, *, requests: float, top: int) -> None:
    """Calls per request in all, then the ``top`` functions by their own time."""
    table = stats.stats  # type: ignore[attr-defined]  # pstats keeps its rows here
    calls = sum(row[1] for row in table.values())
    print(f"\n{requests:,.0f} requests; {calls / requests:.0f} function calls per request")
    print(f"{'calls/req':>9} {'own us/req':>10} {'cum us/req':>10}  function (profiler-inflated)")
    rows = sorted(table.items(), key=lambda item: -item[1][2])
    for (path, line, name), (_, count, own, cumulative, _) in rows[:top]:
        if "openclaw_failover/" in path:
            where = f"{path.split('openclaw_failover/')[-1]}:{line}"
        else:
            where = "built-in" if path == "~" else f"{Path(path).name}:{line}"
        print(
            f"{count / requests:9.2f} {own / requests * 1e6:10.2f} "
            f"{cumulative / requests * 1e6:10.2f}  {name} ({where})"
        )


if __name__ == "__main__":
    main()
