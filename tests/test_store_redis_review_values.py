"""RedisStateStore and values it did not write: a clear error naming the key, never an outage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio

from openclaw_failover._errors import StateStoreError
from openclaw_failover.stores.redis import RedisStateStore
from tests.fixtures.redis_server import RedisServer
from tests.test_store_contract import cool
from tests.test_store_redis_review_restart import wait_for

pytestmark = pytest.mark.redis

NOW = 1_800_000_000.0


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client on the session server, playing the other application."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis_server: RedisServer, redis_namespace: str) -> AsyncIterator[RedisStateStore]:
    """A store in this test's namespace that would retry Redis every 50 ms if degraded."""
    opened = RedisStateStore(redis_server.url, namespace=redis_namespace, retry_interval_s=0.05)
    yield opened
    await opened.aclose()


async def test_a_foreign_hash_under_the_namespace_is_an_error_not_an_outage(
    store: RedisStateStore, raw: redis.asyncio.Redis, redis_namespace: str
) -> None:
    """Another app's hash at one of our keys fails that update with an error naming the key;
    the store does not go degraded (it did, for good: every merge back hit WRONGTYPE again)."""
    await raw.hset(f"{redis_namespace}:h:p:hash", "field", "value")
    with pytest.raises(StateStoreError, match="'p:hash'"):
        await store.update("p:hash", cool(NOW + 60))
    assert not store.degraded
    assert await store.update("p:ok", cool(NOW + 60)) is not None
    assert "p:ok" in await store.snapshot(["p:ok"])


@pytest.mark.parametrize(
    "value",
    [
        b'{"cooldown_until": "1e999"}',  # float() makes it infinite: the TTL crashed
        b'{"probe_until": "nan"}',
        b'{"failure_counts": {"rate_limit": "3"}}',  # a string counter breaks the arithmetic
        b'{"cooldown_reason": 7}',
    ],
)
async def test_a_value_that_is_json_but_not_ours_is_an_error_naming_the_key(
    store: RedisStateStore, raw: redis.asyncio.Redis, redis_namespace: str, value: bytes
) -> None:
    """JSON that decodes but holds what we never write is refused, naming the key, on read and
    on update (an infinite cooldown used to escape as an OverflowError from the TTL)."""
    await raw.set(f"{redis_namespace}:h:p:odd", value)
    with pytest.raises(StateStoreError, match="'p:odd'"):
        await store.snapshot(["p:odd"])
    with pytest.raises(StateStoreError, match="'p:odd'"):
        await store.update("p:odd", lambda old: old)
    assert not store.degraded


async def test_an_unreadable_key_seen_before_an_outage_does_not_stop_the_fall_back(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """A junk value once read, then Redis dies: the store still falls back (serving the last
    good values) and recovers. It used to raise the junk key's error from the fall-back, stay
    degraded with no reconnect task, and never use Redis again."""
    server = redis_server_factory()
    admin = redis.asyncio.Redis.from_url(server.url)
    store = RedisStateStore(server.url, namespace="gw", retry_interval_s=0.05)
    try:
        await admin.set("gw:h:p:junk", b"not json")
        with pytest.raises(StateStoreError, match="'p:junk'"):
            await store.snapshot(["p:junk"])
        await store.update("p:good", cool(NOW + 600))
        server.kill()
        assert (await store.snapshot(["p:good"]))["p:good"].cooldown_until == NOW + 600
        assert store.degraded
        server.restart()
        await wait_for(lambda: not store.degraded)
        assert (await store.snapshot(["p:good"]))["p:good"].cooldown_until == NOW + 600
    finally:
        await admin.aclose()
        await store.aclose()


async def test_a_foreign_value_at_a_key_written_while_degraded_does_not_block_recovery(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """A key written locally during an outage that holds another app's value when Redis
    returns is logged and skipped: the rest merges back and the store leaves degraded mode
    (it used to retry that key forever and stay degraded)."""
    server = redis_server_factory()
    admin = redis.asyncio.Redis.from_url(server.url)
    store = RedisStateStore(server.url, namespace="gw", retry_interval_s=0.05)
    try:
        await admin.rpush("gw:h:p:taken", "another app's list")
        await admin.config_set("maxmemory-policy", "noeviction")
        await admin.config_set("maxmemory", "1")  # writes refused: an outage for the store
        await store.update("p:mine", cool(NOW + 300))
        assert store.degraded
        await store.update("p:taken", cool(NOW + 300))  # local: merged back on recovery
        await admin.config_set("maxmemory", "0")
        await wait_for(lambda: not store.degraded)
        assert await admin.type("gw:h:p:taken") == b"list"
        assert (await store.snapshot(["p:mine"]))["p:mine"].cooldown_until == NOW + 300
    finally:
        await admin.aclose()
        await store.aclose()
