"""Background probes: which candidates are probed, and what a probe records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from openclaw_failover._model import Candidate, Profile, Provider, Route, RouteTable, Secret
from openclaw_failover._ordering import key_model_key, model_key
from openclaw_failover._ports import AuditRecord, Health, MalformedEvent, UpstreamCall
from openclaw_failover.proxy._metrics import ProxyMetrics
from openclaw_failover.proxy._probes import probe_once, probe_targets
from openclaw_failover.proxy._runtime import ProxyRuntime
from openclaw_failover.stores.memory import MemoryStateStore
from tests.fixtures.proxy import StubEngine

NOW = 1_800_000_000.0


class Clock:
    def now(self) -> float:
        return NOW

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        del seconds


@dataclass
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    async def error_excerpt(self, limit: int = 4096) -> str:
        return ""

    async def chunks(self) -> AsyncIterator[dict[str, Any] | MalformedEvent]:
        yield {"choices": [{"index": 0, "delta": {"content": "OK"}}]}


@dataclass
class Upstream:
    calls: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def send(self, call: UpstreamCall) -> AsyncIterator[Reply]:
        self.calls.append(call.candidate.ref)
        yield Reply()

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        return ["m1", "m2", "m3", "m4"]


def table() -> RouteTable:
    key = Profile("p:0", "p", Secret("k"), "config")
    provider = Provider("p", "openai-completions", "http://127.0.0.1:9", profiles=(key,))
    cands = tuple(Candidate("p", f"m{i}") for i in range(1, 5))
    return RouteTable(routes={"auto": Route("auto", cands)}, providers={"p": provider}, version="v")


def states() -> dict[str, Health]:
    key = table().providers["p"].profiles[0]
    return {
        model_key(Candidate("p", "m1")): Health(
            cooldown_until=NOW + 20, cooldown_reason="server_error"
        ),
        key_model_key(key, "m2"): Health(cooldown_until=NOW + 20, cooldown_reason="rate_limit"),
        model_key(Candidate("p", "m3")): Health(last_used_at=NOW - 5),
    }


def test_targets_are_self_healing_cooldowns_and_idle_candidates() -> None:
    """A server-error cooldown and an idle candidate are probed; a rate limit and a busy one not."""
    targets = probe_targets(table(), states(), now=NOW, idle_s=60)
    assert [c.ref for c in targets] == ["p/m1", "p/m4"]


async def test_probe_round_clears_cooldown_and_audits() -> None:
    """An answering probe clears the candidate's cooldown, and every probe is audited."""
    store = MemoryStateStore(states())
    upstream = Upstream()
    records: list[AuditRecord] = []

    class Sink:
        def emit(self, record: AuditRecord) -> None:
            records.append(record)

        async def aclose(self) -> None:
            return None

    runtime = ProxyRuntime(
        metrics=ProxyMetrics(),
        clock=Clock(),
        engine=StubEngine(table=table()),
        audit=Sink(),
        store=store,
        transports={"openai-completions": upstream},
    )
    results = await probe_once(runtime, interval_s=60)
    assert sorted(upstream.calls) == ["p/m1", "p/m4"]
    assert all(r.ok for r in results)
    m1 = (await store.snapshot([model_key(Candidate("p", "m1"))]))[model_key(Candidate("p", "m1"))]
    assert m1.cooldown_until == 0.0
    assert m1.last_good_at == NOW
    assert sorted((r.event, r.model, r.outcome) for r in records) == [
        ("probe", "m1", "ok"),
        ("probe", "m4", "ok"),
    ]
    assert b'openclaw_failover_probes_total{model="m1",provider="p",result="ok"} 1.0' in (
        runtime.metrics.render()
    )
