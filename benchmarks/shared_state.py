"""Shared state on one real Redis: propagation, overhead per request, ops, convergence.

    .venv/bin/python benchmarks/shared_state.py [--rounds 500]

Starts ``redis-server`` (Debian package) on an ephemeral loopback port and prints:

- propagation: a gateway process sets a cooldown; a second gateway process routes (snapshots)
  in a loop; time from the start of the set to the first snapshot that honours it (p50/p99;
  target p99 < 50 ms);
- overhead per request against the memory store: one snapshot of 8 keys plus one update,
  median (target < 0.5 ms);
- Redis round trips per request, and the server's commands (``INFO commandstats``);
- convergence: time from restarting a killed Redis to a gateway under load leaving degraded
  mode with its local state merged (target 1 s).
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
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import redis.asyncio
import uvloop
from openclaw_failover.stores.memory import MemoryStateStore

from openclaw_failover._ports import Health, StateStore
from openclaw_failover.stores.redis import RedisStateStore

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fixtures.redis_server import RedisServer  # noqa: E402  (after the path fix)

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


async def main(rounds: int) -> None:
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
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--reader", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    uvloop.install()  # what ``serve`` runs on
    if args.reader:
        asyncio.run(reader(args.reader, "bench", args.rounds))
    else:
        asyncio.run(main(args.rounds))
