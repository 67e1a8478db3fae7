"""Probe review: a reload during a background probe round."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from openclaw_failover._model import Candidate, Profile, Provider
from openclaw_failover._ordering import model_key
from openclaw_failover._ports import AuditRecord, UpstreamCall
from openclaw_failover.proxy._metrics import ProxyMetrics
from openclaw_failover.proxy._probes import probe_once
from openclaw_failover.proxy._runtime import ProxyRuntime
from openclaw_failover.stores.memory import MemoryStateStore
from tests.fixtures.proxy import StubEngine
from tests.test_proxy_probes import NOW, Clock, Reply, states, table


class ReloadingUpstream:
    """Answers every probe, but a reload that drops provider ``p`` lands while it does."""

    def __init__(self, engine: StubEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def send(self, call: UpstreamCall) -> AsyncIterator[Reply]:
        del call
        old = self.engine.table
        other = Provider("q", "openai-completions", "http://127.0.0.1:9/q")
        self.engine.replace_table(replace(old, providers={"q": other}, routes={}, version="v2"))
        yield Reply()

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        return ["m1", "m2", "m3", "m4"]


async def test_reload_during_a_round_records_against_the_probed_table() -> None:
    """Results are recorded with the table the round probed, even if a reload dropped it."""
    store = MemoryStateStore(states())
    records: list[AuditRecord] = []

    class Sink:
        def emit(self, record: AuditRecord) -> None:
            records.append(record)

        async def aclose(self) -> None:
            return None

    engine = StubEngine(table=table())
    runtime = ProxyRuntime(
        metrics=ProxyMetrics(),
        clock=Clock(),
        engine=engine,
        audit=Sink(),
        store=store,
        transports={"openai-completions": ReloadingUpstream(engine)},
    )
    results = await probe_once(runtime, interval_s=60)
    assert sorted(r.candidate for r in results) == ["p/m1", "p/m4"]
    m1 = model_key(Candidate("p", "m1"))
    assert (await store.snapshot([m1]))[m1].last_good_at == NOW
    assert sorted((r.model, r.route_version) for r in records) == [("m1", "v"), ("m4", "v")]
    assert engine.table.version == "v2"
