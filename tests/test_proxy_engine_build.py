"""``build_engine``: the audit lines of a shared store's fall-back and return."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

import httpx

from openclaw_failover._clock import SystemClock
from openclaw_failover._ports import AuditRecord
from openclaw_failover.proxy._engine_build import EngineParts, build_engine
from openclaw_failover.proxy._limits import ProviderLimits
from openclaw_failover.stores import MemoryStateStore
from tests.fixtures.proxy import make_table


class WatchedStore(MemoryStateStore):
    """A memory store that, like the Redis one, tells a watcher when it degrades."""

    def __init__(self) -> None:
        super().__init__()
        self.watchers: list[Callable[[str | None], None]] = []

    def watch(self, callback: Callable[[str | None], None]) -> None:
        self.watchers.append(callback)


class Recorder:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def emit(self, record: AuditRecord) -> None:
        self.records.append(record)

    async def aclose(self) -> None:
        pass


async def test_state_lines_carry_the_route_version_in_use_when_the_store_changes() -> None:
    """After a reload the fall-back and return lines name the table then in use, not the one
    the engine was built with (a report joining lines by route version put them on the
    wrong config)."""
    store, audit = WatchedStore(), Recorder()
    parts = EngineParts(store=store, audit=audit, clock=None, limits=ProviderLimits(SystemClock()))
    async with AsyncExitStack() as stack, httpx.AsyncClient() as client:
        built = await build_engine(stack, make_table(version="v1"), client=client, parts=parts)
        (tell,) = store.watchers
        tell("redis unavailable: ConnectionError")
        built.engine.replace_table(make_table(version="v2"))
        tell(None)
    events = [(r.event, r.route_version) for r in audit.records]
    assert events == [("state_degraded", "v1"), ("state_restored", "v2")]
