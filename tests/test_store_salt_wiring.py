"""The route table's fingerprint salt reaches the Redis store wherever one is built, so the
store can write it back after Redis restarted empty (ab14fb5)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import httpx
import pytest

from openclaw_failover._clock import SystemClock
from openclaw_failover._model import Secret, Settings, StateSettings
from openclaw_failover._sidecar import _open_store
from openclaw_failover.proxy._engine_build import EngineParts, build_engine
from openclaw_failover.proxy._limits import ProviderLimits
from openclaw_failover.stores import build_store
from openclaw_failover.stores import redis as redis_store
from tests.fixtures.proxy import make_table

REDIS = StateSettings(backend="redis", url=Secret("redis://127.0.0.1:9/0"), namespace="ns")


class Recorded:
    """Stands in for RedisStateStore: keeps what it was built with, talks to nothing."""

    built: list[dict[str, Any]] = []

    def __init__(self, url: str, **kwargs: Any) -> None:
        Recorded.built.append({"url": url, **kwargs})

    async def aclose(self) -> None:
        pass


@pytest.fixture(autouse=True)
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    Recorded.built = []
    monkeypatch.setattr(redis_store, "RedisStateStore", Recorded)
    return Recorded.built


def test_build_store_and_the_sidecar_pass_the_salt(recorded: list[dict[str, Any]]) -> None:
    build_store(REDIS, fingerprint_salt=b"salt-1")
    _open_store(REDIS, "/nonexistent", salt=b"salt-2")
    assert [b["fingerprint_salt"] for b in recorded] == [b"salt-1", b"salt-2"]


async def test_the_proxy_builds_its_store_with_the_tables_salt(
    recorded: list[dict[str, Any]],
) -> None:
    table = replace(make_table(), settings=Settings(state=REDIS), fingerprint_salt=b"salt-3")
    parts = EngineParts(store=None, audit=None, clock=None, limits=ProviderLimits(SystemClock()))
    async with AsyncExitStack() as stack, httpx.AsyncClient() as client:
        await build_engine(stack, table, client=client, parts=parts)
    assert [b["fingerprint_salt"] for b in recorded] == [b"salt-3"]
