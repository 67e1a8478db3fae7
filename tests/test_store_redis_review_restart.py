"""RedisStateStore when Redis restarts empty and no call sees the connection drop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from openclaw_failover._errors import StateStoreError
from openclaw_failover.stores.redis import RedisStateStore
from tests.fixtures.redis_server import RedisServer
from tests.test_store_contract import cool

pytestmark = pytest.mark.redis

NOW = 1_800_000_000.0


async def wait_for(check: Callable[[], object], *, within_s: float = 10.0) -> None:
    """Poll ``check`` until truthy (bounded)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"condition not met within {within_s} s")
        await asyncio.sleep(0.01)


def gateway(server: RedisServer, *, on_unavailable: str = "local") -> RedisStateStore:
    """A store as one gateway would open it, retrying Redis every 50 ms."""
    return RedisStateStore(
        server.url, namespace="gw", on_unavailable=on_unavailable, retry_interval_s=0.05
    )


async def seen_by_a_fresh_gateway(server: RedisServer, keys: list[str]) -> set[str]:
    """The keys a gateway opened now finds in Redis."""
    fresh = gateway(server)
    try:
        return set(await fresh.snapshot(keys))
    finally:
        await fresh.aclose()


async def test_an_idle_gateway_notices_an_empty_restart_and_restores_its_cooldowns(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """Redis restarts empty while the gateway is idle: redis-py replaces the dead pooled
    connection without an error, and the cooldown used to be gone for every gateway. Now the
    next call notices the lost state, serves the last values seen and puts them back."""
    server = redis_server_factory()
    store = gateway(server)
    try:
        await store.update("p:x", cool(NOW + 600))
        server.kill()
        server.restart()
        await asyncio.sleep(0.3)  # idle: the next call comes after the restart is complete
        assert (await store.snapshot(["p:x"]))["p:x"].cooldown_until == NOW + 600
        await wait_for(lambda: not store.degraded)
        assert await seen_by_a_fresh_gateway(server, ["p:x"]) == {"p:x"}
    finally:
        await store.aclose()


async def test_a_gateway_that_calls_after_a_peer_recovered_restores_its_own_keys(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """After an empty restart one gateway recovers first; a second gateway, whose keys the
    first never saw, still notices (the marker changed) and restores its own."""
    server = redis_server_factory()
    a, b = gateway(server), gateway(server)
    try:
        await a.update("p:a", cool(NOW + 600))
        await b.update("p:b", cool(NOW + 600))
        server.kill()
        server.restart()
        await asyncio.sleep(0.3)
        await a.snapshot(["p:a"])
        await wait_for(lambda: not a.degraded)
        await a.update("p:a2", cool(NOW + 60))  # a works in the new epoch
        await asyncio.sleep(0.1)
        await b.update("p:b2", cool(NOW + 60))
        await wait_for(lambda: not a.degraded and not b.degraded)
        found = await seen_by_a_fresh_gateway(server, ["p:a", "p:b", "p:a2", "p:b2"])
        assert found == {"p:a", "p:b", "p:a2", "p:b2"}
        assert not a.degraded
    finally:
        await a.aclose()
        await b.aclose()


async def test_closed_mode_refuses_one_call_after_an_empty_restart_then_goes_on(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """With onUnavailable 'closed' the lost state is reported (StateStoreError) and the
    store then works again on the restarted server: the check never wedges it."""
    server = redis_server_factory()
    store = gateway(server, on_unavailable="closed")
    try:
        await store.update("p:x", cool(NOW + 600))
        server.kill()
        server.restart()
        await asyncio.sleep(0.3)
        with pytest.raises(StateStoreError, match="onUnavailable is 'closed'"):
            await store.snapshot(["p:x"])
        assert await store.update("p:y", cool(NOW + 60)) is not None
        assert "p:y" in await store.snapshot(["p:y"])
    finally:
        await store.aclose()
