"""The engine over each real store: cooldowns persist, and gateways sharing one state
directory send one half-open probe between them (4 engines, 4 FileStateStores)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from openclaw_failover._exchange import ChatRequest
from openclaw_failover._ordering import model_key
from openclaw_failover._ports import Health, StateStore
from openclaw_failover.stores.file import FileStateStore
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.testing import FakeClock
from tests.fixtures.engine import Spec, Upstream, error, make_engine, make_table, ok

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
SPECS = [Spec("p", "primary"), Spec("f", "fallback")]


@pytest.fixture(params=["memory", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    """Each store the engine runs on."""
    made: StateStore = MemoryStateStore() if request.param == "memory" else FileStateStore(tmp_path)
    yield made
    await made.aclose()


async def test_cooldown_written_by_one_request_steers_the_next(store: StateStore) -> None:
    """A 500 cools the primary in the store; the next request skips it without a call."""
    table = make_table(SPECS)
    rig = make_engine(table, store=store)  # type: ignore[arg-type]
    rig.upstream.set(error(500), model="primary")
    await rig.engine.complete(REQ)
    assert rig.upstream.models_called() == ["primary", "primary", "fallback"]
    stored = await store.snapshot([model_key(table.route("auto").candidates[0])])
    assert next(iter(stored.values())).cooldown_reason == "server_error"
    await rig.engine.complete(REQ)
    assert rig.upstream.models_called()[3:] == ["fallback"]


async def test_four_gateways_on_one_state_directory_probe_once(tmp_path: Path) -> None:
    """Four engines, each with its own FileStateStore on one directory: one probe in total."""
    table = make_table(SPECS)
    clock = FakeClock()
    primary = model_key(table.route("auto").candidates[0])
    seed = FileStateStore(tmp_path)
    expired = Health(cooldown_until=clock.now() - 1, cooldown_reason="timeout")
    await seed.update(primary, lambda h: expired)
    await seed.aclose()
    release = asyncio.Event()
    upstream = Upstream()

    async def slow_primary(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return ok()

    upstream.set(slow_primary, model="primary")  # type: ignore[arg-type]
    stores = [FileStateStore(tmp_path) for _ in range(4)]
    rigs = [make_engine(table, upstream, clock=clock, store=s) for s in stores]  # type: ignore[arg-type]
    tasks = [asyncio.create_task(r.engine.complete(REQ)) for r in rigs for _ in range(5)]
    while len(upstream.calls) < 20:
        await asyncio.sleep(0.001)
    release.set()
    await asyncio.gather(*tasks)
    assert upstream.models_called().count("primary") == 1
    assert sum(len(r.audit.events("probe")) for r in rigs) == 1
    for s in stores:
        await s.aclose()
