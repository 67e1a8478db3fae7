"""RedisStateStore on a live server: TTLs, read-through propagation, namespaces, config errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
import redis.asyncio

from openclaw_failover._errors import ConfigError, StateStoreError
from openclaw_failover._ports import Health
from openclaw_failover.stores.redis import RedisStateStore, shared_fingerprint_salt
from tests.fixtures.redis_server import RedisServer, free_port

NOW = 1_800_000_000.0
WINDOW_S = 3_600.0


class StillClock:
    """A clock that stays at ``NOW`` (the store only reads ``now``)."""

    def now(self) -> float:
        """Epoch seconds."""
        return NOW

    def monotonic(self) -> float:
        """Unused here."""
        return 0.0

    async def sleep(self, seconds: float) -> None:
        """Unused here."""


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client on the session server, to look at what the store wrote."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def open_store(
    redis_server: RedisServer, redis_namespace: str
) -> AsyncIterator[Callable[..., RedisStateStore]]:
    """Open stores on the session server in this test's namespace; closed at teardown."""
    opened: list[RedisStateStore] = []

    def make(namespace: str = redis_namespace) -> RedisStateStore:
        store = RedisStateStore(
            redis_server.url, namespace=namespace, failure_window_s=WINDOW_S, clock=StillClock()
        )
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.aclose()


def until(field: str, value: float) -> Callable[[Health | None], Health | None]:
    """Set one ``*_until`` field."""
    return lambda old: replace(old or Health(), **{field: value})


@pytest.mark.redis
@pytest.mark.parametrize(
    ("field", "value", "expected_s"),
    [
        ("cooldown_until", NOW + 600, 600 + WINDOW_S),
        ("probe_until", NOW + 30, 30 + WINDOW_S),
        ("cooldown_until", NOW - 50, WINDOW_S),  # an expired cooldown adds nothing
        ("last_used_at", NOW, WINDOW_S),
    ],
)
async def test_key_expires_after_its_cooldown_plus_the_failure_window(
    open_store: Callable[..., RedisStateStore],
    raw: redis.asyncio.Redis,
    redis_namespace: str,
    field: str,
    value: float,
    expected_s: float,
) -> None:
    """Every write sets TTL = max(cooldown_until, probe_until, now) - now + failure_window_s."""
    await open_store().update("p:a", until(field, value))
    ttl_ms = await raw.pttl(f"{redis_namespace}:h:p:a")
    assert expected_s * 1000 - 2000 < ttl_ms <= expected_s * 1000


@pytest.mark.redis
async def test_a_later_write_extends_the_ttl(
    open_store: Callable[..., RedisStateStore], raw: redis.asyncio.Redis, redis_namespace: str
) -> None:
    """A longer cooldown written later pushes the key's expiry out with it."""
    store = open_store()
    await store.update("p:a", until("cooldown_until", NOW + 10))
    await store.update("p:a", until("cooldown_until", NOW + 7200))
    ttl_ms = await raw.pttl(f"{redis_namespace}:h:p:a")
    assert ttl_ms > (7200 + WINDOW_S - 2) * 1000


@pytest.mark.redis
async def test_peer_cooldown_is_seen_on_the_next_snapshot(
    open_store: Callable[..., RedisStateStore],
) -> None:
    """Read-through: a cooldown written by one gateway is in the other's very next snapshot."""
    a, b = open_store(), open_store()
    assert await b.snapshot(["p:a"]) == {}
    for step in range(1, 20):
        await a.update("p:a", until("cooldown_until", NOW + step))
        assert (await b.snapshot(["p:a"]))["p:a"].cooldown_until == NOW + step


@pytest.mark.redis
async def test_a_peer_write_between_read_and_update_is_not_lost(
    open_store: Callable[..., RedisStateStore],
) -> None:
    """An update after a peer's write applies fn to the peer's value, not the stale one read."""
    a, b = open_store(), open_store()
    await a.update("p:a", until("last_used_at", NOW))
    await a.snapshot(["p:a"])  # a now remembers the old value
    await b.update("p:a", until("cooldown_until", NOW + 60))
    result = await a.update("p:a", until("last_good_at", NOW))
    assert result is not None
    assert (result.cooldown_until, result.last_good_at) == (NOW + 60, NOW)


@pytest.mark.redis
async def test_namespaces_do_not_see_each_other(
    open_store: Callable[..., RedisStateStore], redis_namespace: str
) -> None:
    """Two namespaces on one server (one with glob characters) keep separate keys."""
    plain, globby = open_store(redis_namespace), open_store(f"{redis_namespace}*")
    await plain.update("p:a", until("last_used_at", NOW))
    await globby.update("p:b", until("last_used_at", NOW))
    assert set(await plain.items()) == {"p:a"}
    assert set(await globby.items()) == {"p:b"}


@pytest.mark.redis
async def test_unreadable_value_is_a_clear_error(
    open_store: Callable[..., RedisStateStore], raw: redis.asyncio.Redis, redis_namespace: str
) -> None:
    """A foreign, non-JSON value under a key raises StateStoreError naming the key."""
    await raw.set(f"{redis_namespace}:h:p:junk", b"\x00not json")
    with pytest.raises(StateStoreError, match="'p:junk'"):
        await open_store().snapshot(["p:junk"])


def test_unknown_on_unavailable_names_the_field() -> None:
    """on_unavailable other than local/closed is a ConfigError at state.onUnavailable."""
    with pytest.raises(ConfigError) as caught:
        RedisStateStore("redis://127.0.0.1:1/0", namespace="x", on_unavailable="open")
    (problem,) = caught.value.problems
    assert problem.path == "state.onUnavailable"
    assert "'open'" in problem.found


def test_wrong_url_scheme_is_reported_without_the_url() -> None:
    """A non-redis URL is a ConfigError at state.url that does not echo the credentials."""
    with pytest.raises(ConfigError) as caught:
        RedisStateStore("http://user:hunter2@cache.internal:6379", namespace="x")
    (problem,) = caught.value.problems
    assert problem.path == "state.url"
    assert "hunter2" not in str(caught.value)


@pytest.mark.redis
def test_gateways_agree_on_the_fingerprint_salt(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """The first gateway's salt is stored; later gateways get it instead of their own."""
    first = shared_fingerprint_salt(redis_server.url, namespace=redis_namespace, local=b"a" * 32)
    second = shared_fingerprint_salt(redis_server.url, namespace=redis_namespace, local=b"b" * 32)
    assert first == second == b"a" * 32


def test_unreachable_redis_leaves_the_local_salt() -> None:
    """Without Redis the loader keeps its local salt rather than failing."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    assert shared_fingerprint_salt(url, namespace="x", local=b"l" * 32) == b"l" * 32


@pytest.mark.redis
def test_a_redis_refusing_writes_leaves_the_local_salt(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """A Redis that answers but refuses writes (a read-only replica, out of memory, here
    NOREPLICAS) is not usable either: the loader keeps its local salt instead of crashing
    every command that loads the config."""
    import redis as sync_redis

    server = redis_server_factory()
    admin = sync_redis.Redis.from_url(server.url)
    try:
        admin.config_set("min-replicas-to-write", 1)
        assert shared_fingerprint_salt(server.url, namespace="x", local=b"l" * 32) == b"l" * 32
    finally:
        admin.close()
