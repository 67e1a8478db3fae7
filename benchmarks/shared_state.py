"""Shared state on one real Redis: propagation, overhead per request, ops, convergence.

    .venv/bin/python benchmarks/shared_state.py [--rounds 500] [--trials 30]

Starts ``redis-server`` (Debian package) on an ephemeral loopback port and prints:

- propagation: a gateway process sets a cooldown; a second gateway process routes (snapshots)
  in a loop; time from the start of the set to the first snapshot that honours it (p50/p99;
  target p99 < 50 ms);
- overhead per request against the memory store: one snapshot of 8 keys plus one update,
  median (target < 0.5 ms);
- Redis round trips per request, and the server's commands (``INFO commandstats``);
- convergence: time from restarting a killed Redis to a gateway under load leaving degraded
  mode with its local state merged (target 1 s);
- 4 ``openclaw-failover serve`` processes on one Redis, each in front of its own fake upstream
  (so the fake's log says which gateway sent what), 4 clients each under steady load: gateway
  0's upstream answers one 429 (Retry-After 60) on key 1; how long each other gateway still
  sends key 1 after that 429 arrived (in-flight requests included; p50/p99, target p99 <
  50 ms); and one gateway's median request latency on memory vs redis, with Redis commands per
  request. The load is steady answers, not the full chaos mix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import httpx
import redis.asyncio
import uvloop

from openclaw_failover._ports import Health, StateStore
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.stores.redis import RedisStateStore
from openclaw_failover.testing import FakeOpenAIServer, HttpError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fixtures.proxy import serve_process  # noqa: E402  (after the path fix)
from tests.fixtures.redis_server import RedisServer  # noqa: E402

NOW = 1_800_000_000.0
KEYS = [f"openai:{k}#fp|gpt-{m}" for k in range(4) for m in range(2)]  # 8 keys per decision


def cool(until: float) -> Callable[[Health | None], Health | None]:
    """Set a cooldown."""
    return lambda old: replace(old or Health(), cooldown_until=until, cooldown_reason="rate_limit")


def used(old: Health | None) -> Health | None:
    """What a routed request writes: last_used_at and one counter."""
    health = old or Health()
    counts = {"rate_limit": health.failure_counts.get("rate_limit", 0) + 1}
    return replace(health, last_used_at=NOW, failure_counts=MappingProxyType(counts))


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) in milliseconds of values in seconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# ----------------------------------------------------------------------------- propagation


async def reader(url: str, namespace: str, rounds: int) -> None:
    """The second gateway: snapshot in a loop, note when each new cooldown is first seen."""
    store = RedisStateStore(url, namespace=namespace)
    seen: dict[int, float] = {}
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while len(seen) < rounds and time.monotonic() < deadline:
        got = await store.snapshot(["p:prop"])
        if "p:prop" in got:
            marker = round(got["p:prop"].cooldown_until - NOW)
            seen.setdefault(marker, time.perf_counter())
    await store.aclose()
    print(json.dumps(seen), flush=True)


async def propagation(url: str, rounds: int) -> list[float]:
    """Seconds from starting a set on gateway A to gateway B's first snapshot honouring it."""
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, __file__, "--reader", url, "--rounds", str(rounds)],
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"ready"
    store = RedisStateStore(url, namespace="bench")
    started: dict[int, float] = {}
    for marker in range(1, rounds + 1):
        started[marker] = time.perf_counter()
        await store.update("p:prop", cool(NOW + marker))
        await asyncio.sleep(0.002)
    await store.aclose()
    seen = {int(k): v for k, v in json.loads(await proc.stdout.readline()).items()}
    await asyncio.wait_for(proc.wait(), timeout=30)
    return [seen[m] - started[m] for m in started if m in seen]


# ----------------------------------------------------------------------------- overhead


async def timed(op: Callable[[], Awaitable[object]], n: int) -> list[float]:
    """Per-call seconds of ``op`` over n calls (after 50 warm-up calls)."""
    for _ in range(50):
        await op()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await op()
        samples.append(time.perf_counter() - start)
    return samples


async def per_request(store: StateStore, n: int) -> dict[str, float]:
    """Median ms of a routing snapshot, an update, and both (one request's store work)."""

    async def request() -> None:
        await store.snapshot(KEYS)
        await store.update(KEYS[0], used)

    snap = await timed(lambda: store.snapshot(KEYS), n)
    upd = await timed(lambda: store.update(KEYS[0], used), n)
    both = await timed(request, n)
    return {
        name: statistics.median(v) * 1000
        for name, v in [("snapshot", snap), ("update", upd), ("request", both)]
    }


async def commands_per_request(url: str, n: int) -> dict[str, float]:
    """Commands per request (snapshot + update) from the server's commandstats."""
    store = RedisStateStore(url, namespace="ops")
    info = redis.asyncio.Redis.from_url(url)
    await store.update(KEYS[0], used)  # load the script once
    await info.config_resetstat()
    for _ in range(n):
        await store.snapshot(KEYS)
        await store.update(KEYS[0], used)
    stats = await info.info("commandstats")
    await info.aclose()
    await store.aclose()
    calls = {name.removeprefix("cmdstat_"): row["calls"] / n for name, row in stats.items()}
    calls.pop("config|resetstat", None)
    return calls


# ----------------------------------------------------------------------------- convergence


async def until(check: Callable[[], bool]) -> None:
    """Poll a flag every millisecond (the store exposes a property, not an event)."""
    while not check():  # noqa: ASYNC110
        await asyncio.sleep(0.001)


async def convergence(server: RedisServer, trials: int) -> list[float]:
    """Seconds from Redis restarting to a loaded gateway being back on Redis (merged)."""
    store = RedisStateStore(server.url, namespace="conv")
    stop = False

    async def load() -> None:
        while not stop:
            await store.update("p:hot", used)
            await store.snapshot(KEYS)
            await asyncio.sleep(0.001)

    task = asyncio.create_task(load())
    times = []
    for _ in range(trials):
        server.kill()
        await until(lambda: store.degraded)
        await asyncio.sleep(random.uniform(0.1, 1.0))  # outages of varied length
        server.restart()
        start = time.perf_counter()
        await until(lambda: not store.degraded)
        times.append(time.perf_counter() - start)
    stop = True
    await task
    await store.aclose()
    return times


# ----------------------------------------------------------------------------- 4 gateways

KEY1, KEY2 = "sk-FAKE-bench-1", "sk-FAKE-bench-2"
HI = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


def gateway_config(upstream: str, state: dict[str, str]) -> str:
    """One provider, two keys in explicit order (key 1 is used until it cools), one model."""
    return json.dumps(
        {
            "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
            "providers": {"p1": {"auth": [{"key": "${BENCH_K1}"}, {"key": "${BENCH_K2}"}]}},
            "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": upstream}}},
            "failover": {"state": state, "proxy": {"port": 0}},
        }
    )


def start_gateways(
    stack: ExitStack, fakes: list[FakeOpenAIServer], state: dict[str, str], home: Path
) -> list[str]:
    """One ``serve`` process per fake upstream, sharing one state dir (one fingerprint salt)."""
    env = {"HOME": str(home), "OPENCLAW_STATE_DIR": str(home / "state")}
    env |= {"BENCH_K1": KEY1, "BENCH_K2": KEY2}
    urls = []
    for n, fake in enumerate(fakes):
        path = home / f"gateway{n}.json"
        path.write_text(gateway_config(fake.url, state))
        urls.append(stack.enter_context(serve_process(str(path), env)).url)
    return urls


Sent = tuple[int, float, str]  # gateway index, monotonic start, profile that answered


async def drive(
    client: httpx.AsyncClient, urls: list[str], n: int, stop: asyncio.Event, log: list[Sent]
) -> None:
    """Send chat requests to gateway n until ``stop``; log when each started and its key."""
    while not stop.is_set():
        start = time.monotonic()
        reply = await client.post(f"{urls[n]}/v1/chat/completions", json=HI)
        assert reply.status_code == 200, reply.text[:200]
        log.append((n, start, reply.headers["x-openclaw-failover-profile"]))


def key1_lags(fake: FakeOpenAIServer, log: list[Sent], since: float) -> list[float]:
    """Per other gateway: the latest start, after the 429 reached gateway 0's upstream, of a
    request that still went out on key 1 (0 when none did). Conservative: it includes gateway
    0 reading the 429 and writing the cooldown."""
    hit = [r for r in fake.chat_requests if r.at > since and r.fault == "http_error"]
    if not hit:
        return []
    t0 = hit[0].at
    return [
        max(
            (start - t0 for g, start, key in log if g == n and start > t0 and key == "p1:0"),
            default=0.0,
        )
        for n in (1, 2, 3)
    ]


async def gateway_propagation(server: RedisServer, home: Path, trials: int) -> list[float]:
    """4 gateways under steady load; a 429 on key 1 at gateway 0; how long the others use it."""
    fakes = [FakeOpenAIServer(models=["m1"]).start() for _ in range(4)]
    state = {"backend": "redis", "url": server.url, "namespace": "gw"}
    admin = redis.asyncio.Redis.from_url(server.url)
    lags: list[float] = []
    with ExitStack() as stack:
        for fake in fakes:
            stack.callback(fake.stop)
        urls = start_gateways(stack, fakes, state, home)
        stop, log = asyncio.Event(), []
        async with httpx.AsyncClient(timeout=30) as client:
            loads = [drive(client, urls, n, stop, log) for n in range(4) for _ in range(4)]
            running = asyncio.gather(*loads)
            for _ in range(trials):
                await admin.flushdb()  # every key healthy again
                await asyncio.sleep(0.3)
                since = time.monotonic()
                fakes[0].script(HttpError(429, retry_after=60), key=KEY1)
                await asyncio.sleep(0.5)
                lags.extend(key1_lags(fakes[0], log, since))
                log.clear()
            stop.set()
            await running
    await admin.aclose()
    return lags


async def gateway_overhead(server: RedisServer, home: Path, n: int) -> dict[str, float]:
    """A memory gateway and a redis gateway, requests alternating between them (so machine
    noise hits both alike): median latency of each, and Redis commands per request."""
    admin = redis.asyncio.Redis.from_url(server.url)
    fakes = [FakeOpenAIServer(models=["m1"]).start() for _ in range(2)]
    lat: dict[str, list[float]] = {"redis": [], "memory": []}
    with ExitStack() as stack:
        for fake in fakes:
            stack.callback(fake.stop)
        urls = {
            backend: start_gateways(
                stack, [fake], {"backend": backend, "url": server.url, "namespace": "ov"}, home
            )[0]
            for backend, fake in zip(lat, fakes, strict=True)
        }
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(100):
                for url in urls.values():
                    await client.post(f"{url}/v1/chat/completions", json=HI)
            await admin.config_resetstat()
            for _ in range(n):
                for backend, url in urls.items():
                    start = time.perf_counter()
                    await client.post(f"{url}/v1/chat/completions", json=HI)
                    lat[backend].append(time.perf_counter() - start)
            stats = await admin.info("commandstats")
    await admin.aclose()
    calls = sum(row["calls"] for name, row in stats.items() if "resetstat" not in name)
    result = {backend: statistics.median(v) * 1000 for backend, v in lat.items()}
    return result | {"redis_commands": calls / n}


async def gateways(server: RedisServer, trials: int) -> None:
    """Print the 4-gateway figures."""
    home = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    lags = await gateway_propagation(server, home, trials)
    print(
        f"4 gateways: last request sent on key 1 by another gateway, after gateway 0's 429 "
        f"(n={len(lags)}): p50 {pct(lags, 0.5):.1f} ms, p99 {pct(lags, 0.99):.1f} ms, "
        f"max {max(lags) * 1000:.1f} ms (target p99 < 50 ms)"
    )
    over = await gateway_overhead(server, home, 1000)
    print(
        f"memory vs redis gateway, alternating sequential requests: median "
        f"{over['memory']:.3f} ms on memory, {over['redis']:.3f} ms on redis, "
        f"added {over['redis'] - over['memory']:.3f} ms "
        f"(target < 0.5 ms); redis commands per request {over['redis_commands']:.2f}"
    )


async def main(rounds: int, *, trials: int) -> None:
    """Run every measurement on one fresh redis-server and print the figures."""
    server = RedisServer("redis-server", Path(tempfile.mkdtemp(prefix="bench-redis-")))
    server.start()
    try:
        prop = await propagation(server.url, rounds)
        print(
            f"propagation A->B (n={len(prop)}/{rounds}): p50 {pct(prop, 0.5):.3f} ms, "
            f"p99 {pct(prop, 0.99):.3f} ms, max {max(prop) * 1000:.3f} ms (target p99 < 50 ms)"
        )
        memory = await per_request(MemoryStateStore(), 2000)
        shared = RedisStateStore(server.url, namespace="over")
        remote = await per_request(shared, 2000)
        await shared.aclose()
        for name in ("snapshot", "update", "request"):
            print(
                f"{name:>8}: memory {memory[name]:.4f} ms, redis {remote[name]:.4f} ms, "
                f"added {remote[name] - memory[name]:.4f} ms (median)"
            )
        print("target: added per request < 0.5 ms")
        calls = await commands_per_request(server.url, 1000)
        sent = calls.get("mget", 0) + calls.get("evalsha", 0)
        detail = ", ".join(f"{k} {v:.2f}" for k, v in sorted(calls.items()))
        print(f"redis round trips per request: {sent:.2f} (server commands: {detail})")
        conv = await convergence(server, 10)
        print(
            f"convergence after restart (10 trials): median {statistics.median(conv):.3f} s, "
            f"max {max(conv):.3f} s (target 1 s)"
        )
        if trials:
            await gateways(server, trials)
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--trials", type=int, default=30, help="4-gateway trials (0: skip)")
    parser.add_argument("--reader", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    uvloop.install()  # what ``serve`` runs on
    if args.reader:
        asyncio.run(reader(args.reader, "bench", args.rounds))
    else:
        asyncio.run(main(args.rounds, trials=args.trials))
