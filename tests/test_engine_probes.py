"""Half-open probes: one claimant per expired cooldown, the all-cooling probe, replaced keys."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace

import httpx
import pytest

from openclaw_failover._errors import AllCandidatesFailed
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import Deadlines, Retries
from openclaw_failover._ordering import model_key, profile_key
from openclaw_failover._ports import Health, HealthUpdate
from openclaw_failover.stores.memory import MemoryStateStore
from tests.fixtures.engine import Spec, error, eventually, make_engine, make_table, ok

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
SPECS = [Spec("p", "primary", keys=("kp",)), Spec("f", "fallback", keys=("kf",))]


class YieldingStore(MemoryStateStore):
    """A memory store that yields to the loop on every call, so concurrent requests interleave
    between snapshot and claim (the worst case for a stampede)."""

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]:
        await asyncio.sleep(0)
        return await super().snapshot(keys)

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        await asyncio.sleep(0)
        return await super().update(key, fn)


def _expired(now: float) -> Health:
    return Health(
        cooldown_until=now - 1,
        cooldown_reason="server_error",
        failure_counts={"server_error": 1},
        last_failure_at=now - 6,
    )


async def test_fifty_concurrent_requests_send_one_probe() -> None:
    """50 concurrent requests reach a just-expired primary: exactly one probes it, the rest
    use the fallback; after the probe succeeds the primary is primary again."""
    table = make_table(SPECS)
    store = YieldingStore()
    rig = make_engine(table, store=store)
    primary = model_key(table.route("auto").candidates[0])
    store._data[primary] = _expired(rig.clock.now())
    release = asyncio.Event()

    async def slow_primary(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return ok("from primary")

    rig.upstream.set(slow_primary, model="primary")  # type: ignore[arg-type]
    tasks = [asyncio.create_task(rig.engine.complete(REQ)) for _ in range(50)]
    while len(rig.upstream.calls) < 50:
        await asyncio.sleep(0.001)
    release.set()
    metas = [meta for meta, _ in await asyncio.gather(*tasks)]
    assert rig.upstream.models_called().count("primary") == 1
    assert sorted(m.model for m in metas).count("primary") == 1
    assert len(rig.audit.events("probe")) == 1
    assert store._data[primary].cooldown_reason is None
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "primary"
    assert not meta.downgraded


async def test_failed_probe_cools_longer_and_releases_the_claim() -> None:
    """A failed half-open probe doubles the cooldown and leaves no claim behind."""
    table = make_table(SPECS)
    rig = make_engine(table)
    primary = model_key(table.route("auto").candidates[0])
    rig.store._data[primary] = _expired(rig.clock.now())
    rig.upstream.set(error(503), model="primary")
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "fallback"
    stored = rig.store._data[primary]
    assert stored.probe_owner is None
    assert stored.failure_counts["server_error"] == 2
    assert stored.cooldown_until == pytest.approx(rig.clock.now() + 10, abs=1)


async def test_stale_claim_is_taken_over_after_its_lease() -> None:
    """A probe claim whose lease ran out (its owner died) does not block recovery forever."""
    table = make_table(SPECS)
    rig = make_engine(table)
    primary = model_key(table.route("auto").candidates[0])
    now = rig.clock.now()
    rig.store._data[primary] = replace(_expired(now), probe_owner="dead", probe_until=now + 30)
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "fallback"
    rig.clock.advance(31)
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "primary"


async def test_everything_cooling_sends_exactly_one_probe_to_the_soonest() -> None:
    """All candidates cooling: the soonest-expiring one is probed once before the hard stop."""
    table = make_table(SPECS)
    rig = make_engine(table)
    now = rig.clock.now()
    first, second = table.route("auto").candidates
    rig.store._data[model_key(first)] = Health(cooldown_until=now + 30, cooldown_reason="timeout")
    rig.store._data[model_key(second)] = Health(cooldown_until=now + 9, cooldown_reason="timeout")
    meta, _ = await rig.engine.complete(REQ)
    assert rig.upstream.models_called() == ["fallback"]
    assert meta.model == "fallback"
    assert [p.detail for p in rig.audit.events("probe")] == ["all_cooling"]
    assert rig.store._data[model_key(second)].cooldown_until == 0.0


async def test_everything_cooling_and_the_probe_fails_is_a_hard_stop() -> None:
    """The all-cooling probe is one attempt; its failure ends in the hard stop with the
    soonest expiry."""
    table = make_table(SPECS)
    rig = make_engine(table)
    now = rig.clock.now()
    first, second = table.route("auto").candidates
    rig.store._data[model_key(first)] = Health(cooldown_until=now + 30, cooldown_reason="timeout")
    rig.store._data[model_key(second)] = Health(cooldown_until=now + 9, cooldown_reason="timeout")
    rig.upstream.set(error(500))
    with pytest.raises(AllCandidatesFailed) as info:
        await rig.engine.complete(REQ)
    assert rig.upstream.models_called() == ["fallback"]
    assert info.value.soonest_retry_at == pytest.approx(now + 10, abs=1)


async def test_concurrent_all_cooling_requests_probe_once() -> None:
    """Ten requests that all find everything cooling send one probe between them."""
    table = make_table(SPECS)
    store = YieldingStore()
    rig = make_engine(table, store=store)
    now = rig.clock.now()
    for candidate in table.route("auto").candidates:
        store._data[model_key(candidate)] = Health(
            cooldown_until=now + 30, cooldown_reason="timeout"
        )
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return ok()

    rig.upstream.set(slow)  # type: ignore[arg-type]
    tasks = [asyncio.create_task(rig.engine.complete(REQ)) for _ in range(10)]
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert len(rig.upstream.calls) == 1
    assert sum(isinstance(r, AllCandidatesFailed) for r in results) == 9


async def test_replaced_key_does_not_inherit_the_old_disable() -> None:
    """State is keyed by profile id plus fingerprint: a new key under the same id starts fresh."""
    table = make_table([Spec("p", "m", keys=("old",)), Spec("f", "fb")])
    rig = make_engine(table)
    old = table.providers["p"].profiles[0]
    rig.store._data[profile_key(old)] = Health(
        cooldown_until=rig.clock.now() + 86400, cooldown_reason="billing", disabled=True
    )
    meta, _ = await rig.engine.complete(REQ)
    assert meta.provider == "f"
    new_table = make_table([Spec("p", "m", keys=("new",)), Spec("f", "fb")])
    assert new_table.providers["p"].profiles[0].id == old.id
    rig.engine.replace_table(new_table)
    meta, _ = await rig.engine.complete(REQ)
    assert (meta.provider, meta.profile) == ("p", old.id)


async def test_claim_is_released_when_the_intent_cap_stops_the_walk() -> None:
    """A half-open claim taken when the intent cap is already spent is given back at once."""
    specs = [Spec("a", "m1"), Spec("b", "m2")]
    table = make_table(specs, retries=Retries(max_attempts_per_intent=2))
    rig = make_engine(table)
    second = model_key(table.route("auto").candidates[1])
    rig.store._data[second] = _expired(rig.clock.now())
    rig.upstream.set(error(500), model="m1")
    with pytest.raises(AllCandidatesFailed):
        await rig.engine.complete(REQ)
    assert rig.upstream.models_called() == ["m1", "m1"]
    assert rig.store._data[second].probe_owner is None


class RecooledBeforeClaim(MemoryStateStore):
    """Another gateway's probe of ``key`` fails (a fresh cooldown, its claim gone) between
    this request's snapshot and its claim: two processes' store calls interleave so."""

    def __init__(self, key: str, until: float) -> None:
        super().__init__()
        self.key, self.until, self.recooled = key, until, False

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        if key == self.key and not self.recooled:
            self.recooled = True
            self._data[key] = replace(
                self._data[key], cooldown_until=self.until, failure_counts={"server_error": 2}
            )
        return await super().update(key, fn)


async def test_no_probe_is_claimed_on_a_key_that_cooled_again_since_the_snapshot() -> None:
    """A request that saw the primary half-open, but whose claim lands after another gateway's
    probe failed and cooled it again, takes no claim and sends nothing to the primary."""
    table = make_table(SPECS)
    primary = model_key(table.route("auto").candidates[0])
    store = RecooledBeforeClaim(primary, until=0.0)
    rig = make_engine(table, store=store)
    store.until = rig.clock.now() + 20
    store._data[primary] = _expired(rig.clock.now())
    meta, _ = await rig.engine.complete(REQ)
    assert store.recooled
    assert rig.upstream.models_called() == ["fallback"]
    assert meta.model == "fallback"
    assert store._data[primary].probe_owner is None
    assert rig.audit.events("probe") == []


async def test_all_cooling_probe_also_claims_the_slots_expired_keys() -> None:
    """The all-cooling probe goes to a slot whose profile key cools but whose model key's
    cooldown already ran out: it claims that model key too, so a request that finds another
    profile of the model ready again meanwhile does not send a second probe beside it (the
    crash soak's 'one_probe_per_expiry' once, after a restart found every key cooling)."""
    specs = [Spec("p", "primary", keys=("ka", "kb")), Spec("f", "fallback", keys=("kf",))]
    table = make_table(specs)
    store = YieldingStore()
    rig = make_engine(table, store=store)
    now = rig.clock.now()
    primary, fallback = table.route("auto").candidates
    first, second = table.providers["p"].profiles
    store._data[model_key(primary)] = _expired(now)
    store._data[profile_key(first)] = Health(cooldown_until=now + 1, cooldown_reason="rate_limit")
    store._data[profile_key(second)] = Health(cooldown_until=now + 2, cooldown_reason="rate_limit")
    store._data[model_key(fallback)] = Health(cooldown_until=now + 30, cooldown_reason="timeout")
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return ok()

    rig.upstream.set(slow)  # type: ignore[arg-type]
    probe = asyncio.create_task(rig.engine.complete(REQ))
    while not rig.upstream.calls:
        await asyncio.sleep(0.001)
    assert store._data[model_key(primary)].probe_owner is not None
    rig.clock.advance(3)  # the second profile's cooldown ran out; the probe is still out
    late = asyncio.create_task(rig.engine.complete(REQ))
    await asyncio.sleep(0.05)
    assert rig.upstream.models_called().count("primary") == 1
    release.set()
    await asyncio.gather(probe, late, return_exceptions=True)


async def test_a_probe_retried_after_a_long_inline_wait_still_holds_its_claim() -> None:
    """A probe's second send, after an inline Retry-After wait longer than the claim's lease,
    goes out under a live claim (renewed), never under one another request could take."""
    table = make_table(
        SPECS,
        deadlines=Deadlines(interactive_first_token_s=1.0),
        retries=Retries(inline_wait_max_s=10.0),
    )
    rig = make_engine(table)
    primary = model_key(table.route("auto").candidates[0])
    rig.store._data[primary] = _expired(rig.clock.now())
    leases: list[float] = []

    def primary_answers(request: httpx.Request) -> httpx.Response:
        claim = rig.store._data[primary]
        leases.append(claim.probe_until - rig.clock.now() if claim.probe_owner else 0.0)
        return error(429, retry_after="8") if len(leases) == 1 else ok()

    rig.upstream.set(primary_answers, model="primary")
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "primary"
    assert rig.clock.sleeps == [8.0]
    assert len(leases) == 2
    assert min(leases) > 0, leases
    assert len(rig.audit.events("probe")) == 1  # a renewal is no new probe


async def test_a_caller_that_leaves_gives_its_probe_claim_back() -> None:
    """A request cancelled (its caller left) while it probes a just-expired primary releases
    the claim at once: the primary is not held 'probing' for the whole lease (first-token
    deadline + 5 s), so the next request probes it and finds it recovered."""
    table = make_table(SPECS)
    rig = make_engine(table)
    primary = model_key(table.route("auto").candidates[0])
    rig.store._data[primary] = _expired(rig.clock.now())
    hang = asyncio.Event()

    async def primary_answers(request: httpx.Request) -> httpx.Response:
        if not hang.is_set():
            await asyncio.Event().wait()  # silent until the caller leaves
        return ok("from primary")

    rig.upstream.set(primary_answers, model="primary")  # type: ignore[arg-type]
    left = asyncio.create_task(rig.engine.complete(REQ))
    await eventually(lambda: rig.upstream.models_called() == ["primary"])
    assert rig.store._data[primary].probe_owner is not None
    left.cancel()
    with pytest.raises(asyncio.CancelledError):
        await left
    assert rig.store._data[primary].probe_owner is None
    assert rig.store._data[primary].probe_until == 0.0
    hang.set()
    rig.clock.advance(1)
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "primary"
