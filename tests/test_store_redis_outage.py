"""RedisStateStore when Redis dies, hangs and comes back: local fallback, degraded flag, merge."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType

import pytest
import redis.asyncio

from openclaw_failover._errors import StateStoreError
from openclaw_failover._ports import Health
from openclaw_failover.stores.redis import RedisStateStore
from tests.fixtures.redis_server import RedisServer, free_port

pytestmark = pytest.mark.redis

NOW = 1_800_000_000.0
CONVERGE_S = 10.0


def bump(old: Health | None) -> Health | None:
    """Add one rate_limit failure."""
    health = old or Health()
    counts = {"rate_limit": health.failure_counts.get("rate_limit", 0) + 1}
    return replace(health, failure_counts=MappingProxyType(counts))


def cool(until: float) -> Callable[[Health | None], Health | None]:
    """Set a cooldown (the store keeps the later one)."""
    return lambda old: replace(old or Health(), cooldown_until=until, cooldown_reason="rate_limit")


async def wait_for(check: Callable[[], object], *, within_s: float = CONVERGE_S) -> float:
    """Poll ``check`` until truthy (bounded); return the seconds it took."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"condition not met within {within_s} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def gateway(server: RedisServer, *, on_unavailable: str = "local") -> RedisStateStore:
    """A store as one gateway would open it, retrying Redis every 50 ms."""
    return RedisStateStore(
        server.url, namespace="gw", on_unavailable=on_unavailable, retry_interval_s=0.05
    )


async def test_kill_under_load_loses_no_call_and_converges(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """Killing Redis mid-load fails no call; after restart both gateways converge within 10 s."""
    server = redis_server_factory()
    a, b = gateway(server), gateway(server)
    try:
        await a.update("p:before", cool(NOW + 900))  # in Redis before the outage
        await b.snapshot(["p:before"])
        done = {"a": 0, "b": 0}

        async def load(store: RedisStateStore, name: str) -> None:
            for _ in range(400):
                await store.update("p:hot", bump)
                await store.snapshot(["p:hot", "p:before"])
                done[name] += 1
                await asyncio.sleep(0.002)

        loads = asyncio.gather(load(a, "a"), load(b, "b"))
        await wait_for(lambda: done["a"] > 20)
        server.kill()
        await wait_for(lambda: a.degraded and b.degraded)
        assert a.degraded_reason is not None
        assert "unavailable" in a.degraded_reason
        await a.update("p:during", cool(NOW + 600))
        server.restart()  # empty: the server keeps nothing across restarts here
        took = await wait_for(lambda: not a.degraded and not b.degraded)
        await loads
        assert done == {"a": 400, "b": 400}
        assert took < CONVERGE_S
        fresh = gateway(server)
        seen = await fresh.snapshot(["p:during", "p:before", "p:hot"])
        await fresh.aclose()
        assert seen["p:during"].cooldown_until == NOW + 600
        assert seen["p:before"].cooldown_until == NOW + 900
        assert seen["p:hot"].failure_counts["rate_limit"] >= 400
    finally:
        await a.aclose()
        await b.aclose()


async def test_degraded_store_keeps_its_last_known_state(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """While degraded, snapshots serve the last values seen and local writes count on top."""
    server = redis_server_factory()
    store = gateway(server)
    try:
        for _ in range(3):
            await store.update("p:a", bump)
        server.kill()
        after = await store.update("p:a", bump)
        assert store.degraded
        assert after is not None
        assert after.failure_counts["rate_limit"] == 4
        assert (await store.items())["p:a"].failure_counts["rate_limit"] == 4
    finally:
        await store.aclose()


async def test_local_cooldown_reaches_a_peer_after_recovery(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """A cooldown set while degraded is honoured by another gateway once Redis is back."""
    server = redis_server_factory()
    a, b = gateway(server), gateway(server)
    try:
        server.kill()
        await a.update("p:x", cool(NOW + 300))
        assert a.degraded
        server.restart()
        await wait_for(lambda: not a.degraded)
        assert (await b.snapshot(["p:x"]))["p:x"].cooldown_until == NOW + 300
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_quick_restart_that_lost_everything_is_noticed_and_restored(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """Redis restarts empty between two calls (no persistence): the next call finds its
    connection dead, and that is an outage, not something to reconnect past in silence. The
    cooldown it held is served from the last values seen and put back into Redis, where
    another gateway sees it again."""
    server = redis_server_factory()
    a, b = gateway(server), gateway(server)
    try:
        await a.update("p:x", cool(NOW + 600))
        assert (await b.snapshot(["p:x"]))["p:x"].cooldown_until == NOW + 600
        server.kill()
        server.restart()  # empty, and back before anyone called
        assert (await a.snapshot(["p:x"]))["p:x"].cooldown_until == NOW + 600
        await wait_for(lambda: not a.degraded)
        fresh = gateway(server)
        try:
            assert (await fresh.snapshot(["p:x"]))["p:x"].cooldown_until == NOW + 600
        finally:
            await fresh.aclose()
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_write_resent_after_a_timeout_counts_once(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """A write whose reply times out (Redis busy longer than the 0.5 s socket timeout) is not
    resent: a resend of a write that had landed would run ``fn`` again and count one failure
    twice. The store goes local for the moment and merges back by the max, so the count
    stays right."""
    server = redis_server_factory()
    a = gateway(server)
    busy = redis.asyncio.Redis.from_url(server.url)
    script = (
        "local t=redis.call('TIME') local s=t[1]*1000000+t[2] repeat local n=redis.call('TIME') "
        "until n[1]*1000000+n[2]-s > 800000 return 1"
    )
    try:
        await a.update("p:x", bump)
        hog = asyncio.ensure_future(busy.eval(script, 0))
        await asyncio.sleep(0.05)
        result = await a.update("p:x", bump)
        assert result is not None
        assert dict(result.failure_counts) == {"rate_limit": 2}
        await hog
        await wait_for(lambda: not a.degraded)
        stored = (await a.snapshot(["p:x"]))["p:x"]
        assert dict(stored.failure_counts) == {"rate_limit": 2}
    finally:
        await a.aclose()
        await busy.aclose()


async def test_merge_keeps_the_later_cooldown_on_both_sides(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """After recovery the later cooldown wins, whichever side set it."""
    server = redis_server_factory()
    a, b = gateway(server), gateway(server)
    try:
        await a.update("p:x", cool(NOW + 100))
        server.kill()
        await a.update("p:x", cool(NOW + 50))  # shorter: the local guard keeps NOW + 100
        await a.update("p:y", cool(NOW + 10))
        server.restart()
        await b.update("p:y", cool(NOW + 700))  # b set a later one on the new server
        await wait_for(lambda: not a.degraded)
        got = await b.snapshot(["p:x", "p:y"])
        assert got["p:x"].cooldown_until == NOW + 100
        assert got["p:y"].cooldown_until == NOW + 700
    finally:
        await a.aclose()
        await b.aclose()


async def test_hung_redis_times_out_into_local_mode(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """A Redis that stops answering (SIGSTOP) degrades a call within about a second."""
    server = redis_server_factory()
    store = gateway(server)
    try:
        await store.update("p:a", bump)
        server.pause()
        start = time.monotonic()
        result = await store.update("p:a", bump)
        assert time.monotonic() - start < 3.0
        assert store.degraded
        assert result is not None
        assert result.failure_counts["rate_limit"] == 2
        server.resume()
        await wait_for(lambda: not store.degraded)
    finally:
        server.resume()
        await store.aclose()


async def test_redis_refusing_writes_degrades_until_it_accepts_them(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """An OOM refusal (maxmemory reached) serves locally, then merges once writes work again."""
    server = redis_server_factory()
    store, admin = gateway(server), redis.asyncio.Redis.from_url(server.url)
    try:
        await store.update("p:a", bump)
        await admin.config_set("maxmemory", "1")
        await admin.config_set("maxmemory-policy", "noeviction")
        result = await store.update("p:a", cool(NOW + 120))
        assert store.degraded
        assert store.degraded_reason is not None
        assert "OutOfMemoryError" in store.degraded_reason
        assert result is not None
        assert result.cooldown_until == NOW + 120
        await admin.config_set("maxmemory", "0")
        await wait_for(lambda: not store.degraded)
        assert (await store.snapshot(["p:a"]))["p:a"].cooldown_until == NOW + 120
    finally:
        await admin.aclose()
        await store.aclose()


async def test_closed_mode_refuses_while_redis_is_down(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """on_unavailable='closed' raises StateStoreError during the outage and works after it."""
    server = redis_server_factory()
    store = gateway(server, on_unavailable="closed")
    try:
        await store.update("p:a", bump)
        server.kill()
        with pytest.raises(StateStoreError, match="onUnavailable is 'closed'"):
            await store.snapshot(["p:a"])
        assert not store.degraded
        server.restart()
        assert await store.update("p:a", bump) is not None
    finally:
        await store.aclose()


async def test_degraded_reason_never_shows_the_password() -> None:
    """The degraded reason names the failure but not the URL's credentials."""
    store = RedisStateStore(
        f"redis://user:s3cret-pw@127.0.0.1:{free_port()}/0", namespace="gw", retry_interval_s=60
    )
    try:
        assert await store.snapshot(["p:a"]) == {}
        assert store.degraded
        assert store.degraded_reason is not None
        assert "s3cret-pw" not in store.degraded_reason
    finally:
        await store.aclose()
