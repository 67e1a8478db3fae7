"""Per-provider load control: the concurrency cap, 429-driven lowering and raising on success."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import jsonschema
import pytest

from openclaw_failover._engine import FailoverEngine
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import Candidate, Profile, Provider
from openclaw_failover._ordering import model_key
from openclaw_failover._ports import AuditRecord, Health, MalformedEvent, UpstreamCall
from openclaw_failover.proxy import LimitedTransport, ProviderLimiter, ProviderLimits
from openclaw_failover.proxy._limits import limited_transports
from tests.fixtures.engine import Spec, eventually, make_engine, make_table, ok

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})


class StepClock:
    def __init__(self) -> None:
        self.t = 100.0

    def now(self) -> float:
        return 1_800_000_000.0 + self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def test_cap_makes_extra_requests_wait_fifo() -> None:
    """With maxConcurrent 2 the third caller waits, and waiters enter in arrival order."""
    limiter = ProviderLimiter("p", max_concurrent=2, clock=StepClock())
    await limiter.acquire()
    await limiter.acquire()
    order: list[str] = []

    async def enter(name: str) -> None:
        await limiter.acquire()
        order.append(name)

    third = asyncio.create_task(enter("third"))
    fourth = asyncio.create_task(enter("fourth"))
    await asyncio.sleep(0)
    assert order == []
    limiter.release()
    await third
    assert order == ["third"]
    limiter.release()
    await fourth
    assert order == ["third", "fourth"]
    assert limiter.in_flight == 2


async def test_429_halves_then_successes_raise_after_hold() -> None:
    """A 429 halves the cap; successes raise it one by one only after the hold."""
    clock = StepClock()
    limiter = ProviderLimiter("p", max_concurrent=8, clock=clock, hold_s=30)
    for _ in range(8):
        await limiter.acquire()
    assert limiter.on_rate_limited() == 4
    assert limiter.on_success() is False  # still held
    await clock.sleep(31)
    assert limiter.on_success() is True
    assert limiter.limit == 5
    for _ in range(10):
        limiter.on_success()
    assert limiter.limit == 8


async def test_unlimited_provider_lowered_then_unlimited_again() -> None:
    """Without a cap, a 429 sets one from the in-flight count; recovery removes it again."""
    clock = StepClock()
    limiter = ProviderLimiter("p", max_concurrent=None, clock=clock, hold_s=10)
    for _ in range(6):
        await limiter.acquire()
    assert limiter.on_rate_limited() == 3
    await clock.sleep(11)
    while limiter.limit is not None:
        assert limiter.on_success()
    assert limiter.limit is None


async def test_cancelled_waiter_leaves_no_trace() -> None:
    """A waiter cancelled while queued is removed and takes no slot."""
    limiter = ProviderLimiter("p", max_concurrent=1, clock=StepClock())
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release()
    assert limiter.in_flight == 0
    assert await limiter.acquire() == 0.0


async def test_waiter_cancelled_after_a_release_skipped_it() -> None:
    """A waiter cancelled, then passed over by a release before it resumes, leaves quietly
    (found by the chaos soak: ValueError from the waiter queue became a 500)."""
    limiter = ProviderLimiter("p", max_concurrent=1, clock=StepClock())
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    limiter.release()  # runs before the waiter resumes: pops its cancelled future
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.in_flight == 0
    assert await limiter.acquire() == 0.0


@dataclass
class FakeReply:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)

    async def error_excerpt(self, limit: int = 4096) -> str:
        return ""

    async def chunks(self) -> AsyncIterator[dict[str, Any] | MalformedEvent]:
        yield {"choices": []}


@dataclass
class FakeTransport:
    statuses: list[int]
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    inside: int = 0

    @asynccontextmanager
    async def send(self, call: UpstreamCall) -> AsyncIterator[FakeReply]:
        del call
        self.inside += 1
        try:
            await self.gate.wait()
            yield FakeReply(self.statuses.pop(0))
        finally:
            self.inside -= 1

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        return ["m"]


def call_for(provider: Provider) -> UpstreamCall:
    return UpstreamCall(provider, Candidate(provider.id, "m"), None, {"messages": []})


async def test_limited_transport_holds_slots_and_lowers_on_429() -> None:
    """The wrapper caps calls in flight, audits the wait, and a 429 lowers the cap."""
    clock = StepClock()
    records: list[AuditRecord] = []
    limits = ProviderLimits(clock, emit=records.append)
    provider = Provider("p", "openai-completions", "http://127.0.0.1:9", max_concurrent=2)
    limits.configure({"p": provider})
    inner = FakeTransport([429, 200, 200])
    transport = LimitedTransport(inner, limits)
    seen: list[int] = []

    async def one() -> None:
        async with transport.send(call_for(provider)) as reply:
            seen.append(reply.status)

    tasks = [asyncio.create_task(one()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert inner.inside == 2
    clock.t += 0.5
    inner.gate.set()
    await asyncio.gather(*tasks)
    assert sorted(seen) == [200, 200, 429]
    assert limits.get("p").limit == 1
    kinds = [(r.event, r.failure_kind) for r in records]
    assert ("cooldown_set", "concurrency_lowered") in kinds
    assert ("cooldown_set", "concurrency_wait") in kinds
    assert all(r.model is None and r.profile is None for r in records)
    assert await transport.list_models(provider, None) == ["m"]


def test_limiter_audit_lines_match_the_line_schema() -> None:
    """The limiter's audit lines validate against schemas/audit-record.schema.json."""
    schema = json.loads(
        (Path(__file__).parent.parent / "schemas" / "audit-record.schema.json").read_text()
    )
    clock = StepClock()
    records: list[AuditRecord] = []
    limits = ProviderLimits(clock, emit=records.append, hold_s=0)
    limiter = limits.get("p")
    limits.observe(limiter, 429)
    limits.waited("p", 0.25)
    clock.t += 1
    limits.observe(limiter, 200)
    limits.observe(limiter, 200)
    assert {r.failure_kind for r in records} >= {"concurrency_lowered", "concurrency_wait"}
    for record in records:
        jsonschema.validate(record.to_json(), schema)


def _capped_rig(handler):  # type: ignore[no-untyped-def]
    """An engine over p/m1 (capped at 1) then q/m2, with the limiter between it and p."""
    table = make_table([Spec("p", "m1"), Spec("q", "m2")])
    providers = dict(table.providers)
    providers["p"] = replace(providers["p"], max_concurrent=1)
    table = replace(table, providers=MappingProxyType(providers))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    rig = make_engine(table, client=client)
    limits = ProviderLimits(rig.clock)
    inner = rig.engine._transports["openai-completions"]
    engine = FailoverEngine(
        table,
        transports=limited_transports({"openai-completions": inner}, limits, table),
        store=rig.store,
        audit=rig.audit,
        clock=rig.clock,
    )
    return engine, rig


def _holding(gate: asyncio.Event):  # type: ignore[no-untyped-def]
    """A handler whose p/m1 answers wait for ``gate`` (the first caller holds p's one slot)."""

    async def handle(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["model"] == "m1":
            await gate.wait()
        return ok()

    return handle


async def test_deadline_in_the_slot_queue_cools_nothing() -> None:
    """A request whose first-token deadline passes while it waits for p's slot moves on to q
    and cools nothing: p never saw it (found by the chaos soak: queue waits cooled models)."""
    release = asyncio.Event()
    engine, rig = _capped_rig(_holding(release))
    first = asyncio.create_task(engine.complete(REQ))
    await eventually(engine._watchdog.waiting)
    second = asyncio.create_task(engine.complete(REQ))
    await eventually(lambda: engine._watchdog.waiting() == 2)
    rig.clock.advance(46)  # past the first-token deadline of both; the first is p's call
    meta, _ = await second
    assert meta.provider == "q"
    release.set()
    await asyncio.gather(first, return_exceptions=True)
    queued = [r for r in rig.audit.records if r.failure_kind == "SlotWaitTimeout"]
    assert len(queued) == 1
    assert queued[0].reason == "timeout"
    assert not [r for r in rig.audit.events("cooldown_set") if r.request_id == queued[0].request_id]


async def test_key_cooled_during_the_slot_wait_is_not_sent() -> None:
    """After waiting for p's slot, the call is not sent when p/m1 cooled meanwhile."""
    release = asyncio.Event()
    calls: list[str] = []
    holding = _holding(release)

    async def handle(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content)["model"])
        return await holding(request)

    engine, rig = _capped_rig(handle)
    first = asyncio.create_task(engine.complete(REQ))
    await eventually(lambda: calls)
    second = asyncio.create_task(engine.complete(REQ))
    await eventually(lambda: engine._watchdog.waiting() == 2)
    key = model_key(engine.table.route("auto").candidates[0])
    rig.store._data[key] = Health(cooldown_until=rig.clock.now() + 30, cooldown_reason="timeout")
    release.set()
    meta, _ = await second
    await first
    assert meta.provider == "q"
    assert calls == ["m1", "m2"]
    assert [r.failure_kind for r in rig.audit.events("attempt") if r.status is None] == [
        "SlotCooled"
    ]
