"""RedisStateStore writes the fingerprint salt back when Redis restarted without it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from openclaw_failover._ports import Health
from openclaw_failover.stores.redis import RedisStateStore, shared_fingerprint_salt
from tests.fixtures.redis_server import RedisServer

pytestmark = pytest.mark.redis

NOW = 1_800_000_000.0
SALT, OTHER = b"a" * 32, b"b" * 32


async def wait_for(check: Callable[[], object], *, within_s: float = 10.0) -> None:
    """Poll ``check`` until truthy (bounded)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"condition not met within {within_s} s")
        await asyncio.sleep(0.01)


async def test_a_running_gateway_writes_its_salt_back_after_an_empty_restart(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """Redis restarts empty: a gateway started afterwards used to store its own salt, so its
    key fingerprints (and state keys) never matched the running gateways'. The running
    gateway's store now puts its salt back on its next call, and the newcomer adopts it."""
    server = redis_server_factory()
    assert shared_fingerprint_salt(server.url, namespace="gw", local=SALT) == SALT
    store = RedisStateStore(
        server.url, namespace="gw", retry_interval_s=0.05, fingerprint_salt=SALT
    )
    try:
        await store.update("p:x", lambda old: replace(old or Health(), cooldown_until=NOW))
        server.kill()
        server.restart()
        await asyncio.sleep(0.3)
        await store.snapshot(["p:x"])
        await wait_for(lambda: not store.degraded)
        assert shared_fingerprint_salt(server.url, namespace="gw", local=OTHER) == SALT
    finally:
        await store.aclose()


async def test_the_salt_written_back_never_replaces_a_stored_one(
    redis_server_factory: Callable[[], RedisServer],
) -> None:
    """First stored wins: a store whose salt differs from the stored one leaves it alone, and
    a store given no salt writes none."""
    server = redis_server_factory()
    assert shared_fingerprint_salt(server.url, namespace="gw", local=SALT) == SALT
    other = RedisStateStore(server.url, namespace="gw", fingerprint_salt=OTHER)
    unsalted = RedisStateStore(server.url, namespace="bare")
    try:
        assert await other.snapshot(["p:x"]) == {}
        assert await unsalted.snapshot(["p:x"]) == {}
        assert shared_fingerprint_salt(server.url, namespace="gw", local=OTHER) == SALT
        assert shared_fingerprint_salt(server.url, namespace="bare", local=OTHER) == OTHER
    finally:
        await other.aclose()
        await unsalted.aclose()


async def test_a_gateway_salted_apart_from_the_others_says_so_once(
    redis_server_factory: Callable[[], RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway started while Redis was down built its keys with its own salt; once it
    reaches a Redis that holds another gateway's salt, its cooldowns are not shared. It used
    to say nothing; it now logs it once (not on every epoch check)."""
    server = redis_server_factory()
    assert shared_fingerprint_salt(server.url, namespace="gw", local=SALT) == SALT
    apart = RedisStateStore(server.url, namespace="gw", fingerprint_salt=OTHER)
    alike = RedisStateStore(server.url, namespace="gw", fingerprint_salt=SALT)
    try:
        with caplog.at_level("WARNING", logger="openclaw_failover"):
            await apart.snapshot(["p:x"])
            await apart.update("p:x", lambda old: replace(old or Health(), cooldown_until=NOW))
            await alike.snapshot(["p:x"])
        said = [r.getMessage() for r in caplog.records if "another salt" in r.getMessage()]
        assert len(said) == 1, caplog.text
        assert "namespace 'gw'" in said[0]
        assert "restart it" in said[0]
    finally:
        await apart.aclose()
        await alike.aclose()
