"""Shared state on one real Redis: propagation, overhead per request, ops, convergence.

    .venv/bin/python benchmarks/shared_state.py [--rounds 500] [--trials 30] [--pairs 1000]

Starts ``redis-server`` (Debian package) on an ephemeral loopback port and prints:

- propagation: a gateway process sets a cooldown; a second gateway process routes (snapshots)
  in a loop; time from the start of the set to the first snapshot that honours it (p50/p99;
  target p99 < 50 ms);
- overhead per request against the memory store: one snapshot of 8 keys plus one update,
  median (target < 0.5 ms);
- Redis round trips per request, and the server's commands (``INFO commandstats``);
- convergence: time from restarting a killed Redis to a gateway under load leaving degraded
  mode with its local state merged (target 1 s);
- 4 ``openclaw-failover serve`` processes on one Redis, on the chaos soak's world
  (``tests/fixtures/chaos.py``: fakes on 127.0.0.1, chain p1/m1 > p1/m2 > p2/m3 > p3/m4, five
  keys, first-token deadlines of 1 s; cooldowns cut to 0.25 s doubling, cap 1 s, so that p2
  and p3 come back and the mix keeps playing), each loaded by 4 clients on ``auto`` and 4 on a
  ``chaos`` route (p2/m3 > p3/m4 > p1/m2), half the requests streamed. Each figure is printed
  twice, side by side: with every fake answering (steady), and with p2 and p3 playing the
  soak's seeded mix (429 with and without Retry-After, 401, 402, 500/502/503/529, hangs before
  headers and mid-stream, silent streams, resets, cut streams, a malformed event, an empty
  200, slow first tokens); p2 and p3's own logs say how many requests they got and how many
  faults they played. p1 always answers: a 401/402 on key 1, or a 5xx, timeout or empty 200
  on m1 (any key), would cool the observed slot too.
- key-1 lag: each trial resets p1's state in Redis, then p1 answers the next request on key 1
  of p1/m1 with a 429 (Retry-After 60), whichever gateway sends it; from p1's own request log
  (each request's trace id names its gateway): per other gateway, how long after that 429
  arrived its last request on key 1 arrived (in-flight ones included; p50/p99, target p99 <
  50 ms). A trial where some gateway sent nothing on key 1 before the 429 is skipped, and
  counted.
- overhead: a memory gateway and a redis gateway, each on its own world of the same seed, sent
  the same seeded plan of requests (route, streaming) alternately: median latency of each, the
  difference (target < 0.5 ms), the median difference over the pairs that ended alike (same
  outcome, same attempts), Redis commands per request, and the share answered by each. Their
  fakes draw the same faults in the same order; cooldowns run on the wall clock, so the two
  can drift apart by a few upstream requests, which the rows show.
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
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import httpx
import redis.asyncio
import uvloop

from openclaw_failover._ports import Health, StateStore
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.stores.redis import RedisStateStore
from openclaw_failover.testing import HttpError, Ok

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fixtures.chaos import (  # noqa: E402  (after the path fix)
    ANSWER,
    COOLDOWNS,
    PROVIDERS,
    ChaosWorld,
    Outcome,
    profile_of,
    run_load,
    send_chat,
)
from tests.fixtures.chaos_checks import Hit, fake_hits  # noqa: E402
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

GATEWAYS = 4
PER_ROUTE = 4  # clients per route on each gateway
KEY_1 = PROVIDERS["p1"][1]["a"]  # key 1 of the primary (p1/m1): the observed key
OBSERVED = profile_of("p1", "a")
#: Beside ``auto`` (the world's chain, p1/m1 first), a route over the providers that play the
#: mix; it ends on p1/m2, which always answers, so most of its requests are answered.
CHAOS_ROUTE = ("p2/m3", "p3/m4", "p1/m2")
ROUTES = {"chaos": {"primary": CHAOS_ROUTE[0], "fallbacks": list(CHAOS_ROUTE[1:])}}
LOADS = ("auto", "chaos")
#: Every reason of the soak's cooldowns at 0.25 s doubling, cap 1 s (the soak's are 1-4 s base, at
#: which p2 and p3 sit out cooled most of the time and the mix hardly plays). The trial's 429
#: still cools key 1 for its Retry-After (60 s), the longer one.
FAULT_COOLDOWNS = {reason: {"baseS": 0.25, "capS": 1} for reason in COOLDOWNS}


class Upstreams:
    """The chaos soak's world (its fakes, chain, keys and 1 s deadlines) on ``state``, with the
    ``chaos`` route and :data:`FAULT_COOLDOWNS`. The primary's upstream (p1) always answers, on
    both keys and models: a 401/402 on key 1 or a model-wide fault on m1 (5xx, timeout, empty
    200, on key 2 too) would cool the observed slot as well, so key 1 of p1/m1 cools only by a
    trial's 429. p2 and p3 play the world's seeded mixes once :meth:`play` says so, and answer
    steadily until then."""

    def __init__(self, root: Path, state: dict[str, str], *, seed: int) -> None:
        root.mkdir(parents=True, exist_ok=True)
        extra = {"state": state, "routes": ROUTES, "cooldowns": FAULT_COOLDOWNS}
        self.world = ChaosWorld(root, seed=seed, extra=extra)
        self.world.start()
        self.mixes = {pid: fake.rules.default for pid, fake in self.world.fakes.items()}
        self.play(mix=False)

    def play(self, *, mix: bool) -> None:
        """Let p2 and p3 play their mixes (each resumes its seeded sequence), or answer."""
        for pid, fake in self.world.fakes.items():
            fake.rules.default = self.mixes[pid] if mix and pid != "p1" else Ok(ANSWER)

    def played(self, since: float) -> tuple[int, int]:
        """Requests p2 and p3 received after ``since`` (monotonic), and how many of them were
        answered with anything but a plain answer (their logs, not the proxy's word)."""
        fakes = {pid: fake for pid, fake in self.world.fakes.items() if pid != "p1"}
        hits = [h for h in fake_hits(fakes, offset_s=0.0) if h.at > since]
        return len(hits), sum(h.played != Ok(ANSWER) for h in hits)


async def loaded(urls: list[str], stop: asyncio.Event) -> list[Outcome]:
    """``PER_ROUTE`` clients per route on every gateway (half the requests streamed) until
    ``stop``; the load of gateway n on route r has salt ``n + 16 * r``, which heads its trace
    ids, so the fakes' logs say which gateway sent each upstream request."""
    runs = [
        run_load(
            url,
            requests=100_000,
            concurrency=PER_ROUTE,
            seed=salt,
            salt=salt,
            stop=stop,
            route=route,
        )
        for n, url in enumerate(urls)
        for r, route in enumerate(LOADS)
        for salt in [n + 16 * r]
    ]
    return [outcome for found in await asyncio.gather(*runs) for outcome in found]


def gateway_of(hit: Hit) -> int:
    """The gateway that sent a request the fake logged (the salt heading its trace id)."""
    return int(hit.trace[:8], 16) % 16 if hit.trace else -1


def key1_lags(hits: list[Hit], settled: float, since: float) -> list[float] | None:
    """From the primary upstream's own log: per other gateway, how long after the 429 reached
    the upstream the latest request it sent on key 1 of p1/m1 arrived (0 when none did).
    Conservative: requests in flight count, and so does the setter reading the 429 and writing
    the cooldown. None when no 429 was played, or when a gateway sent nothing on key 1 between
    the reset and the 429 (the trial would show nothing)."""
    sent = [h for h in hits if h.at > settled and h.profile == OBSERVED and h.model == "m1"]
    hit = next((h for h in sent if h.at > since and isinstance(h.played, HttpError)), None)
    if hit is None:
        return None
    others = [g for g in range(GATEWAYS) if g != gateway_of(hit)]
    if not set(others) <= {gateway_of(h) for h in sent if h.at < hit.at}:
        return None
    return [
        max((h.at - hit.at for h in sent if h.at > hit.at and gateway_of(h) == g), default=0.0)
        for g in others
    ]


async def forget_primary(admin: redis.asyncio.Redis, namespace: str) -> int:
    """Delete p1's state keys (every slot of the primary healthy again); the mix's state on
    p2 and p3 stays. How many were deleted."""
    keys = [k async for k in admin.scan_iter(match=f"{namespace}:h:*p1*", count=1000)]
    return int(await admin.delete(*keys)) if keys else 0


@dataclass
class Propagation:
    """One load's trials: the lags, trials that showed nothing, the clients' outcomes, and
    what p2 and p3 received and played (requests, faults)."""

    lags: list[float]
    skipped: int
    outcomes: list[Outcome]
    upstream: tuple[int, int]


async def gateway_propagation(
    server: RedisServer, root: Path, trials: int
) -> dict[bool, Propagation]:
    """4 gateways on one world and one Redis, loaded steadily and then under the mix; in each
    trial p1 answers one request on key 1 of p1/m1 with a 429 (Retry-After 60), and its log
    says how long the other gateways kept sending that key."""
    namespace = "gw"
    state = {"backend": "redis", "url": server.url, "namespace": namespace}
    admin = redis.asyncio.Redis.from_url(server.url)
    found: dict[bool, Propagation] = {}
    with ExitStack() as stack:
        upstreams = Upstreams(root, state, seed=3)
        stack.callback(upstreams.world.stop)
        urls = [stack.enter_context(upstreams.world.serve()).url for _ in range(GATEWAYS)]
        p1 = upstreams.world.fakes["p1"]
        for mix in (False, True):
            upstreams.play(mix=mix)
            began = time.monotonic()
            stop = asyncio.Event()
            load = asyncio.ensure_future(loaded(urls, stop))
            await asyncio.sleep(1.0)  # connections warm; the mix's cooldowns build up
            lags: list[float] = []
            skipped = 0
            for _ in range(trials):
                await forget_primary(admin, namespace)
                settled = time.monotonic()
                await asyncio.sleep(0.3)
                since = time.monotonic()
                p1.script(HttpError(429, retry_after=60), key=KEY_1, model="m1")
                await asyncio.sleep(0.5)
                trial = key1_lags(fake_hits({"p1": p1}, offset_s=0.0), settled, since)
                skipped += trial is None
                lags.extend(trial or [])
            stop.set()
            outcomes = await load
            found[mix] = Propagation(lags, skipped, outcomes, upstreams.played(began))
    await admin.aclose()
    return found


@dataclass
class Overhead:
    """Per backend, the measured requests' outcomes and what p2 and p3 received and played
    (requests, faults); Redis commands per request."""

    outcomes: dict[str, list[Outcome]]
    upstream: dict[str, tuple[int, int]]
    redis_commands: float

    def median_ms(self, backend: str) -> float:
        """Median latency of one backend's requests."""
        return statistics.median(o.latency_s for o in self.outcomes[backend]) * 1000

    def paired_ms(self) -> tuple[float, int]:
        """Median of redis minus memory over the pairs (request i on each) that ended alike
        (same kind, same attempts), and how many did."""
        alike = [
            r.latency_s - m.latency_s
            for m, r in zip(self.outcomes["memory"], self.outcomes["redis"], strict=True)
            if (m.kind, m.attempts) == (r.kind, r.attempts)
        ]
        return statistics.median(alike) * 1000 if alike else float("nan"), len(alike)


async def alternate(
    client: httpx.AsyncClient, urls: dict[str, str], plan: list[tuple[bool, str]], start: int
) -> dict[str, list[Outcome]]:
    """Request ``start + i`` of the plan (streamed?, route) to each gateway in turn."""
    found: dict[str, list[Outcome]] = {backend: [] for backend in urls}
    for index, (stream, route) in enumerate(plan, start):
        for salt, (backend, url) in enumerate(urls.items()):
            reply = await send_chat(client, url, index, stream=stream, salt=salt, route=route)
            found[backend].append(reply)
    return found


async def gateway_overhead(server: RedisServer, root: Path, n: int) -> dict[bool, Overhead]:
    """A memory gateway and a redis gateway, each on its own world of the same seed, sent the
    same requests (route and streaming from one seeded plan) alternately, so machine noise
    hits both alike and their fakes draw the same faults in the same order: 100 warm-up pairs
    and n pairs steady, then both worlds switch to the mix at the same request, 50 warm-up
    pairs and n pairs more. Redis commands are counted over the measured pairs."""
    admin = redis.asyncio.Redis.from_url(server.url)
    rng = random.Random(7)  # a request plan, not crypto
    plan = [(rng.random() < 0.5, rng.choice(LOADS)) for _ in range(150 + 2 * n)]
    phases = {
        False: (plan[:100], plan[100 : 100 + n]),
        True: (plan[100 + n : 150 + n], plan[150 + n :]),
    }
    found: dict[bool, Overhead] = {}
    with ExitStack() as stack:
        worlds: list[Upstreams] = []
        urls: dict[str, str] = {}
        for backend in ("memory", "redis"):
            state = {"backend": backend, "url": server.url, "namespace": "ov"}
            worlds.append(Upstreams(root / backend, state, seed=5))
            stack.callback(worlds[-1].world.stop)
            urls[backend] = stack.enter_context(worlds[-1].world.serve()).url
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            index = 0
            for mix, (warm, measured) in phases.items():
                for upstreams in worlds:
                    upstreams.play(mix=mix)
                await alternate(client, urls, warm, index)
                await admin.config_resetstat()
                began = time.monotonic()
                outcomes = await alternate(client, urls, measured, index + len(warm))
                stats = await admin.info("commandstats")
                index += len(warm) + len(measured)
                calls = sum(row["calls"] for name, row in stats.items() if "resetstat" not in name)
                upstream = {b: u.played(began) for b, u in zip(urls, worlds, strict=True)}
                found[mix] = Overhead(outcomes, upstream, calls / len(measured))
    await admin.aclose()
    return found


def side_by_side(label: str, steady: str, mixed: str) -> str:
    """One row of the steady / chaos-mix table."""
    return f"  {label:<46} {steady:<26} {mixed}"


def answered(outcomes: list[Outcome]) -> str:
    """The share of client requests answered in full."""
    return f"{100 * sum(o.kind == 'answered' for o in outcomes) / max(1, len(outcomes)):.1f}%"


async def gateways(server: RedisServer, trials: int, pairs: int) -> None:
    """Print the 4-gateway figures, steady and under the chaos mix, side by side."""
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        prop = list((await gateway_propagation(server, Path(tmp) / "gw", trials)).values())
        over = list((await gateway_overhead(server, Path(tmp) / "ov", pairs)).values())
    print(
        f"{GATEWAYS} gateways on one Redis, {PER_ROUTE} clients per route on each (auto: key 1 "
        f"of p1/m1 first; chaos: {' > '.join(CHAOS_ROUTE)}); {trials} trials per load"
    )
    print(side_by_side("", "steady", "chaos mix"))
    lags = [
        f"{pct(p.lags, 0.5):.1f} / {pct(p.lags, 0.99):.1f} / {max(p.lags) * 1000:.1f} ms"
        if p.lags
        else "none"
        for p in prop
    ]
    print(side_by_side("key-1 lag p50 / p99 / max (target p99 < 50 ms)", *lags))
    print(
        side_by_side(
            "lag samples, trials skipped",
            *(f"{len(p.lags)}, {p.skipped}" for p in prop),
        )
    )
    print(
        side_by_side(
            "client requests, answered in full",
            *(f"{len(p.outcomes)}, {answered(p.outcomes)}" for p in prop),
        )
    )
    print(
        side_by_side(
            "p2/p3 upstream requests, faults played",
            *(f"{p.upstream[0]}, {p.upstream[1]}" for p in prop),
        )
    )
    print(f"memory vs redis gateway, {pairs} alternating sequential pairs of the same requests")
    medians = [(o.median_ms("memory"), o.median_ms("redis")) for o in over]
    print(
        side_by_side(
            "median latency, memory / redis", *(f"{m:.3f} / {r:.3f} ms" for m, r in medians)
        )
    )
    print(
        side_by_side("added by redis (target < 0.5 ms)", *(f"{r - m:.3f} ms" for m, r in medians))
    )
    paired = [o.paired_ms() for o in over]
    print(
        side_by_side(
            "paired median of redis - memory, n alike",
            *(f"{ms:.3f} ms, n {n}" for ms, n in paired),
        )
    )
    print(side_by_side("redis commands per request", *(f"{o.redis_commands:.2f}" for o in over)))
    print(
        side_by_side(
            "answered in full, memory / redis",
            *(f"{answered(o.outcomes['memory'])} / {answered(o.outcomes['redis'])}" for o in over),
        )
    )
    played = [" / ".join(f"{n}, {f}" for n, f in o.upstream.values()) for o in over]
    print(side_by_side("p2/p3 requests, faults, memory / redis", *played))


async def main(rounds: int, *, trials: int, pairs: int) -> None:
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
            await gateways(server, trials, pairs)
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument(
        "--trials", type=int, default=30, help="4-gateway trials per load (0: skip the gateways)"
    )
    parser.add_argument(
        "--pairs", type=int, default=1000, help="memory/redis request pairs per load"
    )
    parser.add_argument("--reader", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    uvloop.install()  # what ``serve`` runs on
    if args.reader:
        asyncio.run(reader(args.reader, "bench", args.rounds))
    else:
        asyncio.run(main(args.rounds, trials=args.trials, pairs=args.pairs))
