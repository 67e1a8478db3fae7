"""The proxy's cost, side by side with LiteLLM's proxy, against one fast fake on loopback.

    .venv/bin/python benchmarks/proxy_overhead.py [--quick] [--no-litellm] [--duration S]

One run starts the fake upstream (``_fast_fake.py``), ``openclaw-failover serve`` (one worker,
default settings: file state store, audit file) and LiteLLM's proxy 1.109.x (one worker, its own
virtualenv under ``~/.cache/openclaw-failover``; skipped with a message if it cannot be
installed). Then, twice — every process sharing both cores, and pinned with ``taskset`` (the
proxies on cpu 0, wrk, the fake and the Python clients on cpu 1) — it measures, interleaving
direct -> ours -> LiteLLM with the same wrk Lua script, duration and concurrency:

- added latency vs direct, non-streaming, p50 / p99 at concurrency 1 and 10;
- throughput at concurrency 10 and 50;
- streaming time to first token, median, through each proxy vs direct;
- RSS of each serving process;
- failover cost (a second and third ``serve``, default policy and ``maxAttemptsPerKey: 1,
  inlineWaitMaxS: 0``): time to the fallback's answer minus the fallback's own latency minus
  the policy's waits, for a primary answering 500 or 429; for a silent primary, the time past
  the first-token deadline; for a primary in cooldown, the requests that still reach it.

Targets are judged on the pinned run (the proxy alone on its core, as on a host where the
clients are elsewhere); the shared run is printed beside it. wrk comes from the Debian package
(installed with apt-get when missing and running as root).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _litellm_peer as peer

ROOT = Path(__file__).resolve().parent.parent
PROXY_CPU, LOAD_CPU = "0", "1"
BODY = {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}
KEY = "sk-bench-upstream"
MASTER = "sk-bench-master-0123456789"
FIRST_TOKEN_S = 0.5  # the failover proxies' interactiveFirstTokenS (the silent-primary deadline)
WRK_LUA = """
wrk.method = "POST"
wrk.body = [[BODY]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer AUTH"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


# ---------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return pids


def pin(pid: int, cpus: str) -> None:
    """Set the CPU affinity of every thread of ``pid`` and its descendants."""
    wanted = {int(c) for c in cpus.split(",")}
    for process in tree_pids(pid):
        for task in Path(f"/proc/{process}/task").glob("*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), wanted)


#: Every serving process (ours, the failover proxies, LiteLLM): while one is measured the
#: others are stopped (SIGSTOP), so an idle neighbour's timers never land on the measured core.
SERVING: list[int] = []


@contextlib.contextmanager
def quiet(keep: int | None) -> Iterator[None]:
    """Stop every serving process tree but ``keep``'s for the block."""
    stopped = [p for pid in SERVING if pid != keep for p in tree_pids(pid)]
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


NOISY: list[float] = []  # the busy share seen each time the machine did not go quiet


def wait_quiet(busy_max: float = 0.15) -> None:
    """Wait (up to 15 s) until the machine is idle before a measurement: other
    sessions' test runs on the same cores would be measured as our latency otherwise. After
    three waits in vain the machine is taken as it is."""
    limit_s = 15.0 if len(NOISY) < 3 else 1.0
    deadline = time.monotonic() + limit_s
    busy = 1.0
    with quiet(None):
        while time.monotonic() < deadline:
            total, idle = _cpu_times()
            time.sleep(0.5)
            total2, idle2 = _cpu_times()
            busy = 1 - (idle2 - idle) / max(1, total2 - total)
            if busy <= busy_max:
                return
            time.sleep(1.0)
    NOISY.append(busy)
    if len(NOISY) <= 3:
        print(f"  (machine still {busy:.0%} busy after {limit_s:g} s; measuring anyway)")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB, summed over the process tree."""
    rss = hwm = 0.0
    for process in tree_pids(pid):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{process}/status").read_text()
            rss += int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024  # type: ignore[index]
            hwm += int(re.search(r"VmHWM:\s+(\d+)", status)[1]) / 1024  # type: ignore[index]
    return rss, hwm


@dataclass
class Processes:
    """Everything started, stopped in reverse order."""

    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add(self, process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.started):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            if process.stdout is not None:  # the fake's port line came on a pipe
                process.stdout.close()


def start_fake(procs: Processes) -> tuple[subprocess.Popen[bytes], int]:
    fake = procs.add(
        subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "_fast_fake.py"), "--port", "0"],
            stdout=subprocess.PIPE,
        )
    )
    assert fake.stdout is not None
    port = int(json.loads(fake.stdout.readline())["port"])
    return fake, port


def wait_http(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1, trust_env=False).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after 60 s")


def start_ours(procs: Processes, config: dict[str, Any], work: Path, name: str) -> tuple[Any, str]:
    """``openclaw-failover serve`` on ``config`` with HOME and the state dir under ``work``."""
    port = free_port()
    config["failover"]["proxy"] = {"port": port}
    path = work / f"{name}.json"
    path.write_text(json.dumps(config, indent=1))
    home = work / name
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "OPENCLAW_STATE_DIR": str(home / "state")}
    env["BENCH_KEY"] = KEY
    binary = Path(sys.executable).parent / "openclaw-failover"
    command = [str(binary)] if binary.exists() else [sys.executable, "-m", "openclaw_failover.cli"]
    log = (work / f"{name}.log").open("ab")
    process = procs.add(
        subprocess.Popen(
            [*command, "serve", "--config", str(path)], stdout=log, stderr=log, env=env
        )
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", process, f"openclaw-failover serve ({name})")
    except RuntimeError:
        print((work / f"{name}.log").read_text()[-3000:], file=sys.stderr)
        raise
    return process, url


def happy_config(upstream: str) -> dict[str, Any]:
    """Route ``auto`` -> the fake; route ``gap`` -> the fake's paused stream (TTFT)."""
    return {
        "agents": {"defaults": {"model": {"primary": "up/fake", "fallbacks": []}}},
        "providers": {p: {"auth": [{"key": "${BENCH_KEY}"}]} for p in ("up", "gap")},
        "models": {
            "providers": {
                "up": {"api": "openai-completions", "baseUrl": f"{upstream}/v1"},
                "gap": {"api": "openai-completions", "baseUrl": f"{upstream}/gap/v1"},
            }
        },
        "failover": {"routes": {"gap": {"primary": "gap/fake"}}},
    }


def failover_config(upstream: str, policy: str, samples: int) -> dict[str, Any]:
    """Routes ``<mode>_<n>``: a primary of its own (500, 429, silent) then the healthy
    fallback; ``500_cool<offset>``: a 500 primary for the cooldown check of each placement."""
    providers: dict[str, Any] = {
        "fb": {"api": "openai-completions", "baseUrl": f"{upstream}/okfb-{policy}/v1"}
    }
    routes: dict[str, Any] = {}
    names = [f"{mode}_{n}" for mode in ("500", "429", "silent") for n in range(samples)]
    for name in [*names, "500_cool0", f"500_cool{samples // 2}"]:
        prefix = name.replace("_", f"-{policy}-")
        providers[f"p{name}"] = {"api": "openai-completions", "baseUrl": f"{upstream}/{prefix}/v1"}
        routes[name] = {"primary": f"p{name}/fake", "fallbacks": ["fb/fake"]}
    failover: dict[str, Any] = {
        "routes": routes,
        "deadlines": {"interactiveFirstTokenS": FIRST_TOKEN_S},
    }
    if policy == "strict":
        failover["retries"] = {"maxAttemptsPerKey": 1, "inlineWaitMaxS": 0}
    return {
        "agents": {"defaults": {"model": {"primary": "fb/fake", "fallbacks": []}}},
        "providers": {p: {"auth": [{"key": "${BENCH_KEY}"}]} for p in providers},
        "models": {"providers": providers},
        "failover": failover,
    }


def start_relay(procs: Processes, upstream: str, *flags: str) -> tuple[Any, str]:
    """The yardstick: a uvicorn + httpx relay with no logic (``_bare_relay.py``); with
    ``--ours``, the floor: the same relay on our own server and pooled transport."""
    port = free_port()
    script = ROOT / "benchmarks" / "_bare_relay.py"
    process = procs.add(
        subprocess.Popen(
            [sys.executable, str(script), "--port", str(port), "--upstream", upstream, *flags],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/", process, "the bare relay")
    return process, url


def start_litellm(procs: Processes, upstream: str, work: Path) -> tuple[Any, str] | str:
    """LiteLLM's proxy with ``fake`` and ``gap`` groups, or the reason it is skipped."""
    reason = peer.ensure_litellm()
    if reason is not None:
        return reason
    config = work / "litellm.yaml"
    peer.write_config(config, upstream=f"{upstream}/v1", failover=None)
    text = config.read_text().replace(
        "litellm_settings:",
        "  - model_name: gap\n    litellm_params:\n      model: openai/fake\n"
        f"      api_base: {upstream}/gap/v1\n      api_key: sk-bench\nlitellm_settings:",
        1,
    )
    config.write_text(text)
    port = free_port()
    try:
        process = peer.start_litellm(
            config, port=port, master_key=MASTER, cpus=None, log=work / "litellm.log"
        )
    except RuntimeError as exc:
        return str(exc)
    procs.add(process)
    return process, f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------- load and clients


@dataclass(frozen=True)
class Target:
    """One thing to send load to."""

    name: str
    url: str  # chat-completions URL
    model: str
    auth: str
    pid: int | None


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing the Debian package ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
        found = shutil.which("wrk")
        if not found:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
            found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return found


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def run_wrk(
    target: Target, *, conns: int, seconds: float, cpus: str | None, work: Path
) -> WrkResult:
    body = json.dumps({"model": target.model, **BODY})
    script = work / f"wrk-{target.name}.lua"
    script.write_text(WRK_LUA.replace("BODY", body).replace("AUTH", target.auth))
    command = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "20s",
        "-s",
        str(script),
    ]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    out = subprocess.run(
        [*command, target.url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    data = json.loads(out.split("WRKJSON ", 1)[1].splitlines()[0])
    return WrkResult(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50"] / 1000,
        p99_ms=data["p99"] / 1000,
        errors=data["errors"],
    )


class Client:
    """A keep-alive HTTP/1.1 client (http.client): the same for direct and both proxies."""

    def __init__(self, url: str) -> None:
        parts = httpx.URL(url)
        self.host, self.port, self.path = parts.host, parts.port or 80, parts.raw_path.decode()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, body: dict[str, Any], auth: str, *, first: bytes | None = None) -> float:
        """Send; return the seconds until the answer (or until ``first`` is seen). A kept-alive
        connection the server closed meanwhile is reopened and the request timed afresh."""
        data = json.dumps(body).encode()
        headers = {"content-type": "application/json", "authorization": f"Bearer {auth}"}
        try:
            return self._exchange(data, headers, first)
        except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
            self.conn.close()
            return self._exchange(data, headers, first)

    def _exchange(self, data: bytes, headers: dict[str, str], first: bytes | None) -> float:
        started = time.perf_counter()
        self.conn.request("POST", self.path, data, headers)
        reply = self.conn.getresponse()
        if first is None:
            reply.read()
            elapsed = time.perf_counter() - started
        else:
            seen = b""
            while first not in seen:
                piece = reply.read1(65536)
                if not piece:
                    raise RuntimeError(f"stream ended before {first!r}")
                seen += piece
            elapsed = time.perf_counter() - started
            reply.read()
        if reply.status != 200:
            raise RuntimeError(f"HTTP {reply.status} from {self.path}")
        return elapsed

    def close(self) -> None:
        self.conn.close()


@contextlib.contextmanager
def own_cpus(cpus: str | None) -> Iterator[None]:
    """Run this (client) process on ``cpus`` inside the block."""
    before = os.sched_getaffinity(0)
    if cpus is not None:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# ---------------------------------------------------------------------- figures


NAN = float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: float, unit: str = "ms", digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f} {unit}"  # NaN


@dataclass
class Placement:
    """The figures of one placement (shared or pinned)."""

    name: str
    latency: dict[tuple[str, int], WrkResult] = field(default_factory=dict)
    ttft: dict[str, float] = field(default_factory=dict)
    failover: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    cooled_hits: dict[str, int] = field(default_factory=dict)


def measure_load(
    targets: list[Target], placement: Placement, *, seconds: float, rounds: int, work: Path
) -> None:
    """wrk at c=1, 10, 50, interleaving direct -> ours -> LiteLLM; the median of rounds."""
    cpus = LOAD_CPU if placement.name == "pinned" else None
    for conns in (1, 10, 50):
        runs: dict[str, list[WrkResult]] = {t.name: [] for t in targets}
        for _ in range(rounds):
            for target in targets:
                wait_quiet()
                with quiet(target.pid):
                    result = run_wrk(target, conns=conns, seconds=seconds, cpus=cpus, work=work)
                runs[target.name].append(result)
        for name, results in runs.items():
            placement.latency[(name, conns)] = WrkResult(
                rps=median([r.rps for r in results]),
                p50_ms=median([r.p50_ms for r in results]),
                p99_ms=median([r.p99_ms for r in results]),
                errors=sum(r.errors for r in results),
            )
        line = "  ".join(
            f"{n} {r.rps:,.0f} rps p50 {r.p50_ms:.2f} p99 {r.p99_ms:.2f}"
            for (n, c), r in placement.latency.items()
            if c == conns
        )
        print(f"  [{placement.name}] c={conns}: {line}", flush=True)


def measure_ttft(targets: list[Target], placement: Placement, *, samples: int) -> None:
    """Median time to the first content chunk of a stream (the fake pauses 20 ms after it),
    direct and through each proxy, in blocks of ten per target, the targets in turn."""
    cpus = LOAD_CPU if placement.name == "pinned" else None
    targets = [t for t in targets if t.name != "relay"]  # the relay does not stream
    clients, models = {}, {}
    for target in targets:
        direct = target.name == "direct"
        clients[target.name] = Client(
            target.url.replace("/v1/", "/gap/v1/", 1) if direct else target.url
        )
        models[target.name] = target.model if direct else "gap"
    times: dict[str, list[float]] = {t.name: [] for t in targets}
    block = 10
    with own_cpus(cpus):
        for _ in range(max(1, samples // block)):
            for target in targets:
                body = {"model": models[target.name], **BODY, "stream": True}
                wait_quiet()
                with quiet(target.pid):
                    for index in range(block + 2):
                        elapsed = clients[target.name].post(
                            body, target.auth, first=b'"content":"Hello"'
                        )
                        if index >= 2:  # the first two of a block warm it up
                            times[target.name].append(elapsed)
    for client in clients.values():
        client.close()
    placement.ttft = {name: median(values) * 1000 for name, values in times.items()}


def fake_stats(upstream: str) -> dict[str, dict[str, list[float]]]:
    stats: dict[str, dict[str, list[float]]] = httpx.get(
        f"{upstream}/_stats", trust_env=False
    ).json()
    return stats


def waits_of(prefix: str, stats: dict[str, dict[str, list[float]]]) -> tuple[int, float]:
    """(attempts on the primary, seconds between one reply and the next attempt)."""
    entry = stats.get(prefix, {"arrived": [], "replied": []})
    arrived, replied = entry["arrived"], entry["replied"]
    waits = sum(arrived[i + 1] - replied[i] for i in range(min(len(arrived) - 1, len(replied))))
    return len(arrived), waits


def measure_failover(
    proxies: dict[str, tuple[int, str]],
    upstream: str,
    placement: Placement,
    *,
    samples: int,
    offset: int,
) -> None:
    """Failover cost per policy and primary; the cooldown check."""
    cpus = LOAD_CPU if placement.name == "pinned" else None
    with own_cpus(cpus):
        direct = Client(f"{upstream}/okfb-direct/v1/chat/completions")
        with quiet(None):
            fallback_s = median(
                [direct.post({"model": "fake", **BODY}, "x") for _ in range(60)][10:]
            )
        direct.close()
        for policy, (pid, url) in proxies.items():
            wait_quiet()
            with quiet(pid):
                measure_policy(placement, policy, url, upstream, fallback_s, samples, offset)
    placement.failover["fallback_ms"] = {"cost_ms": [fallback_s * 1000]}


def measure_policy(
    placement: Placement,
    policy: str,
    url: str,
    upstream: str,
    fallback_s: float,
    samples: int,
    offset: int,
) -> None:
    """One failover proxy: the cost per primary, then the cooldown check."""
    client = Client(f"{url}/v1/chat/completions")
    for mode in ("500", "429", "silent"):
        costs = []
        for n in range(offset, offset + samples):
            total = client.post({"model": f"{mode}_{n}", **BODY}, "x")
            attempts, waits = waits_of(f"{mode}-{policy}-{n}", fake_stats(upstream))
            deliberate = FIRST_TOKEN_S * attempts if mode == "silent" else waits
            costs.append((total - fallback_s - deliberate) * 1000)
        placement.failover[f"{mode}/{policy}"] = {"cost_ms": costs}
    placement.cooled_hits[policy] = cooldown_hits(client, upstream, policy, offset)
    client.close()


def cooldown_hits(client: Client, upstream: str, policy: str, offset: int) -> int:
    """Fail a 500 primary once (its cooldown starts), then count the requests of the next
    twenty that still reach it (a fresh primary per placement: an old cooldown has ended)."""
    route = f"500_cool{offset}"
    prefix = route.replace("_", f"-{policy}-")
    client.post({"model": route, **BODY}, "x")
    before = len(fake_stats(upstream).get(prefix, {"arrived": []})["arrived"])
    for _ in range(20):
        client.post({"model": route, **BODY}, "x")
    after = len(fake_stats(upstream).get(prefix, {"arrived": []})["arrived"])
    return after - before


# ---------------------------------------------------------------------- report


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        cpu = found[1].strip() if found else "?"
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def row(label: str, cells: list[str]) -> None:
    """One figure line: the shared cell, then the pinned one."""
    print(f"{label:<46} {' | '.join(cells)}")


def report(placements: list[Placement], rss: dict[str, tuple[float, float]], litellm: str) -> None:
    print("\n== figures (each line: shared | pinned) ==")
    ps = placements
    names = [
        n for n in ("direct", "ours", "litellm", "relay") if any((n, 1) in p.latency for p in ps)
    ]
    for conns in (1, 10):
        for stat in ("p50_ms", "p99_ms"):
            for name in names[1:]:
                cells = [fmt(added(p, name, conns, stat), digits=3) for p in ps]
                row(f"added {stat[:3]} c={conns} {name}", cells)
            if "litellm" in names:
                cells = [fmt(ratio(p, conns, stat), "x", 1) for p in ps]
                row(f"ratio litellm/ours added {stat[:3]} c={conns}", cells)
    for conns in (1, 10, 50):
        for name in names:
            row(
                f"throughput c={conns} {name}",
                [fmt(p.latency[(name, conns)].rps, "rps", 0) for p in ps],
            )
    streamed = [n for n in names if n != "relay"]
    for name in streamed:
        row(f"TTFT median {name}", [fmt(p.ttft.get(name, NAN), digits=3) for p in ps])
    for name in streamed[1:]:
        cells = [fmt(p.ttft.get(name, NAN) - p.ttft["direct"], digits=3) for p in ps]
        row(f"TTFT {name} - direct", cells)
    for name, (now, peak) in rss.items():
        print(f"RSS {name}: {now:.1f} MB (peak {peak:.1f} MB)")
    if "litellm" in names:
        print(f"RSS ratio litellm/ours: {rss['litellm'][0] / rss['ours'][0]:.1f}x")
    row(
        "fallback's own latency (direct)",
        [fmt(p.failover["fallback_ms"]["cost_ms"][0], digits=3) for p in ps],
    )
    for key in ("500/default", "429/default", "500/strict", "429/strict"):
        row(f"failover cost {key} (median, max)", [_spread(p, key) for p in ps])
    for policy in ("default", "strict"):
        row(
            f"silent primary past deadline {policy} (median, max)",
            [_spread(p, f"silent/{policy}") for p in ps],
        )
        row(
            f"requests reaching a cooling primary {policy}",
            [str(p.cooled_hits.get(policy, "n/a")) for p in ps],
        )
    if litellm:
        print(f"LiteLLM: {litellm}")
    if NOISY:
        print(
            f"note: {len(NOISY)} measurement(s) started on a busy machine (other processes, "
            f"median {median(NOISY):.0%} busy): figures are noisier than on a quiet one"
        )
    judge(placements[-1], rss)


def _spread(placement: Placement, key: str) -> str:
    costs = placement.failover.get(key, {}).get("cost_ms", [])
    return f"{median(costs):.2f} ms, {max(costs):.2f} ms" if costs else "n/a"


def added(placement: Placement, name: str, conns: int, stat: str) -> float:
    if (name, conns) not in placement.latency:
        return float("nan")
    own = getattr(placement.latency[(name, conns)], stat)
    return float(own - getattr(placement.latency[("direct", conns)], stat))


def ratio(placement: Placement, conns: int, stat: str) -> float:
    ours = added(placement, "ours", conns, stat)
    return added(placement, "litellm", conns, stat) / ours if ours > 0 else float("nan")


def judge(pinned: Placement, rss: dict[str, tuple[float, float]]) -> None:
    """Each target, judged on the pinned run."""
    print(f"\n== targets (judged on the {pinned.name} run) ==")
    silent = median(pinned.failover.get("silent/default", {}).get("cost_ms", []))
    worst = max(
        median(pinned.failover.get(f"{m}/{p}", {}).get("cost_ms", [float("nan")]))
        for m in ("500", "429")
        for p in ("default", "strict")
    )
    checks = [
        ("added p50 <= 1 ms at c=10", added(pinned, "ours", 10, "p50_ms"), 1.0, "ms"),
        ("added p99 <= 5 ms at c=10", added(pinned, "ours", 10, "p99_ms"), 5.0, "ms"),
        ("throughput >= 1000 rps at c=50", pinned.latency[("ours", 50)].rps, -1000.0, "rps"),
        (
            "TTFT within 1 ms of direct",
            pinned.ttft.get("ours", float("nan")) - pinned.ttft.get("direct", float("nan")),
            1.0,
            "ms",
        ),
        ("RSS <= 80 MB", rss["ours"][0], 80.0, "MB"),
        ("failover 500/429 <= fallback + 5 ms", worst, 5.0, "ms"),
        ("silent primary <= deadline + 50 ms", silent, 50.0, "ms"),
        (
            "cooling primary gets 0 requests",
            float(sum(pinned.cooled_hits.values())),
            0.0,
            "requests",
        ),
    ]
    for conns in (1, 10):
        value = ratio(pinned, conns, "p50_ms")
        if value == value:  # LiteLLM measured
            checks.append((f">= 10x less added p50 than LiteLLM at c={conns}", value, -10.0, "x"))
    for label, value, limit, unit in checks:
        met = value >= -limit if limit < 0 else value <= limit
        print(f"{'MET    ' if met else 'NOT MET'} {label}: {value:.3f} {unit}")


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about two minutes)")
    parser.add_argument(
        "--smoke", action="store_true", help="check it runs: 1 s runs, shared cores, no LiteLLM"
    )
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM")
    parser.add_argument("--duration", type=float, help="seconds per wrk run")
    args = parser.parse_args()
    if args.smoke:
        args.no_litellm = True
    seconds = args.duration or (1.0 if args.smoke else 2.0 if args.quick else 4.0)
    rounds = 1 if args.quick or args.smoke else 2
    samples = 1 if args.smoke else 3 if args.quick else 8
    ttft_samples = 10 if args.smoke else 30 if args.quick else 100
    ensure_wrk()
    print(f"machine: {machine()}")
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; wrk -t1, {seconds:g} s per run, "
        f"{rounds} round(s), median of rounds"
    )
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="proxy-bench-") as tmp:
        work = Path(tmp)
        try:
            run(
                procs,
                work,
                args=args,
                seconds=seconds,
                rounds=rounds,
                samples=samples,
                ttft_samples=ttft_samples,
            )
        finally:
            procs.stop()


def run(
    procs: Processes,
    work: Path,
    *,
    args: argparse.Namespace,
    seconds: float,
    rounds: int,
    samples: int,
    ttft_samples: int,
) -> None:
    fake, port = start_fake(procs)
    upstream = f"http://127.0.0.1:{port}"
    ours, ours_url = start_ours(procs, happy_config(upstream), work, "ours")
    failover = {
        policy: start_ours(procs, failover_config(upstream, policy, samples * 2), work, policy)
        for policy in ("default", "strict")
    }
    relay, relay_url = start_relay(procs, upstream)
    targets = [
        Target("direct", f"{upstream}/v1/chat/completions", "fake", "x", fake.pid),
        Target("ours", f"{ours_url}/v1/chat/completions", "auto", "x", ours.pid),
        Target("relay", f"{relay_url}/v1/chat/completions", "fake", "x", relay.pid),
    ]
    litellm_note = ""
    if args.no_litellm:
        litellm_note = "skipped (--no-litellm)"
    else:
        started = start_litellm(procs, upstream, work)
        if isinstance(started, str):
            litellm_note = f"skipped: {started}"
            print(f"LiteLLM {litellm_note}", flush=True)
        else:
            process, url = started
            litellm_note = f"LiteLLM {peer.litellm_version()} proxy, one worker"
            targets.append(
                Target("litellm", f"{url}/v1/chat/completions", "fake", MASTER, process.pid)
            )
    print(f"fake on {upstream}; ours on {ours_url}; {litellm_note or 'LiteLLM running'}")
    for target in targets:  # warm-up
        run_wrk(target, conns=10, seconds=1.0, cpus=None, work=work)
    placements = []
    for index, name in enumerate(("shared",) if args.smoke else ("shared", "pinned")):
        placement = Placement(name)
        serving = [t.pid for t in targets[1:] if t.pid] + [p.pid for p, _ in failover.values()]
        SERVING[:] = serving
        for pid in serving:
            pin(pid, "0,1" if name == "shared" else PROXY_CPU)
        pin(fake.pid, "0,1" if name == "shared" else LOAD_CPU)
        print(
            f"\n-- {name}: "
            + (
                "every process on cpus 0,1"
                if name == "shared"
                else f"proxies on cpu {PROXY_CPU}; wrk, fake and clients on cpu {LOAD_CPU}"
            ),
            flush=True,
        )
        measure_load(targets, placement, seconds=seconds, rounds=rounds, work=work)
        measure_ttft(targets, placement, samples=ttft_samples)
        print(
            f"  [{name}] TTFT medians: "
            + ", ".join(f"{k} {v:.3f} ms" for k, v in placement.ttft.items()),
            flush=True,
        )
        measure_failover(
            {policy: (process.pid, url) for policy, (process, url) in failover.items()},
            upstream,
            placement,
            samples=samples,
            offset=index * samples,
        )
        placements.append(placement)
    rss = {t.name: rss_mb(t.pid) for t in targets[1:] if t.pid}
    report(placements, rss, litellm_note)


if __name__ == "__main__":
    main()
