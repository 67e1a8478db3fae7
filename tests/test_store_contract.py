"""One contract suite for every StateStore: memory, file and redis (a real redis-server).

Each backend opens stores that share one backing (memory: the same instance; file: one
directory; redis: one server and namespace), so "another gateway" is simply another store.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from openclaw_failover._ports import Health, StateStore

NOW = 1_800_000_000.0
ROOT = Path(__file__).resolve().parents[1]
KINDS = ["memory", "file", pytest.param("redis", marks=pytest.mark.redis)]


class Backend:
    """Opens stores of one kind on one shared backing and closes them at teardown."""

    def __init__(self, kind: str, location: str) -> None:
        self.kind = kind
        self.location = location  # directory or redis URL (namespace below)
        self.namespace = ""  # redis only
        self.opened: list[StateStore] = []

    def open(self) -> StateStore:
        """A store on the shared backing (memory: always the same instance)."""
        if self.kind == "memory" and self.opened:
            return self.opened[0]
        store = open_store(self.kind, self.location, self.namespace)
        self.opened.append(store)
        return store

    def spec(self, key: str, count: int) -> str:
        """The argument for a worker process that increments ``key`` ``count`` times."""
        return json.dumps([self.kind, self.location, self.namespace, key, count])


def open_store(kind: str, location: str, namespace: str) -> StateStore:
    """Build a store of ``kind``; also used by the worker processes."""
    if kind == "memory":
        from openclaw_failover.stores.memory import MemoryStateStore

        return MemoryStateStore()
    if kind == "file":
        from openclaw_failover.stores.file import FileStateStore

        return FileStateStore(location)
    from openclaw_failover.stores.redis import RedisStateStore

    return RedisStateStore(location, namespace=namespace, on_unavailable="closed")


@pytest.fixture(params=KINDS)
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, redis_namespace: str
) -> AsyncIterator[Backend]:
    """Each contract test runs once per store kind."""
    kind = str(request.param)
    if kind == "redis":
        server = request.getfixturevalue("redis_server")
        made = Backend(kind, server.url)
        made.namespace = redis_namespace
    else:
        made = Backend(kind, str(tmp_path / "state"))
    yield made
    for store in made.opened:
        await store.aclose()


# ------------------------------------------------------------------------- update functions


def bump(reason: str = "rate_limit") -> Callable[[Health | None], Health | None]:
    """An update adding one failure of ``reason``."""

    def fn(old: Health | None) -> Health | None:
        health = old or Health()
        counts = dict(health.failure_counts)
        counts[reason] = counts.get(reason, 0) + 1
        return replace(health, failure_counts=MappingProxyType(counts), last_failure_at=NOW)

    return fn


def cool(until: float, reason: str = "rate_limit") -> Callable[[Health | None], Health | None]:
    """An update that sets ``cooldown_until`` blindly (no never-shorten logic of its own)."""
    return lambda old: replace(old or Health(), cooldown_until=until, cooldown_reason=reason)


def claim(owner: str, *, lease_s: float = 30.0) -> Callable[[Health | None], Health | None]:
    """A probe claim: take the lease only if nobody holds a live one."""

    def fn(old: Health | None) -> Health | None:
        health = old or Health()
        if health.probe_owner is not None and health.probe_until > NOW:
            return health
        return replace(health, probe_owner=owner, probe_until=NOW + lease_s)

    return fn


def count(health: Health | None, reason: str = "rate_limit") -> int:
    """The failure counter for ``reason`` (0 when absent)."""
    return 0 if health is None else health.failure_counts.get(reason, 0)


# ------------------------------------------------------------------------- semantics


async def test_snapshot_leaves_out_absent_keys(backend: Backend) -> None:
    """snapshot returns only keys that exist; an empty key list gives an empty mapping."""
    store = backend.open()
    await store.update("p:a", bump())
    got = await store.snapshot(["p:a", "p:missing"])
    assert set(got) == {"p:a"}
    assert await store.snapshot([]) == {}


async def test_a_repeated_snapshot_shows_every_write_since(backend: Backend) -> None:
    """The same tuple of keys asked again (as the engine does per request) shows each write
    made since, by this store or another one on the same backing, and a deletion."""
    store, other = backend.open(), backend.open()
    keys = ("p:a", "p:b")
    await store.update("p:a", bump())
    first = await store.snapshot(keys)
    assert set(first) == {"p:a"}
    assert await store.snapshot(keys) == first  # nothing written: the same answer
    await other.update("p:b", bump())
    assert set(await store.snapshot(keys)) == {"p:a", "p:b"}
    await other.update("p:a", bump())
    assert (await store.snapshot(keys))["p:a"].failure_counts == {"rate_limit": 2}
    await store.update("p:b", lambda _old: None)
    assert set(await store.snapshot(keys)) == {"p:a"}
    assert set(await store.snapshot(list(keys))) == {"p:a"}  # a list: built, not remembered


async def test_update_sees_none_then_its_own_write(backend: Backend) -> None:
    """fn gets None for a new key, then the stored value; update returns what was stored."""
    store = backend.open()
    seen: list[Health | None] = []

    def record(old: Health | None) -> Health | None:
        seen.append(old)
        return Health(last_used_at=NOW + len(seen))

    first = await store.update("p:a", record)
    second = await store.update("p:a", record)
    assert seen[0] is None
    assert seen[-1] == first
    assert (await store.snapshot(["p:a"]))["p:a"] == second


async def test_every_field_round_trips(backend: Backend) -> None:
    """Every Health field comes back equal from another store on the same backing."""
    health = Health(
        cooldown_until=NOW + 300.5,
        cooldown_reason="billing",
        disabled=True,
        failure_counts=MappingProxyType({"billing": 2, "auth": 1}),
        last_failure_at=NOW - 1.25,
        last_used_at=NOW - 2.5,
        last_good_at=NOW - 3.75,
        probe_owner="gw-1:req-9",
        probe_until=NOW + 30,
    )
    await backend.open().update("p:a", lambda _old: health)
    assert (await backend.open().snapshot(["p:a"]))["p:a"] == health


async def test_returning_none_deletes(backend: Backend) -> None:
    """An update returning None removes the key from snapshot and items."""
    store = backend.open()
    await store.update("p:a", bump())
    await store.update("p:b", bump())
    assert await store.update("p:a", lambda _old: None) is None
    assert await store.snapshot(["p:a"]) == {}
    assert set(await store.items()) == {"p:b"}


async def test_items_lists_every_key(backend: Backend) -> None:
    """items returns every stored key with its health, and nothing else."""
    store = backend.open()
    keys = ["openai:0#f1", "openai:0#f1|gpt-5.4", "model:anthropic/claude"]
    for n, key in enumerate(keys):
        await store.update(key, lambda _old, n=n: Health(last_used_at=NOW + n))
    items = await backend.open().items()
    assert {k: h.last_used_at for k, h in items.items()} == {k: NOW + n for n, k in enumerate(keys)}


async def test_keys_are_opaque_strings(backend: Backend) -> None:
    """Keys with separators, glob and path characters are stored as given."""
    store = backend.open()
    odd = ["a/b", "..", "x*?[y]", "k:é|m", "sp ace", "back\\slash"]
    for key in odd:
        await store.update(key, bump())
    assert set(await store.items()) == set(odd)
    assert set(await store.snapshot(odd)) == set(odd)


async def test_replaced_key_does_not_inherit_state(backend: Backend) -> None:
    """A profile with a new key fingerprint starts clean; the old key's state stays its own."""
    store = backend.open()
    await store.update("openai:team#fp-old", lambda _o: Health(disabled=True, cooldown_until=NOW))
    got = await store.snapshot(["openai:team#fp-old", "openai:team#fp-new"])
    assert list(got) == ["openai:team#fp-old"]
    assert got["openai:team#fp-old"].disabled


# ------------------------------------------------------------------------- atomicity


async def test_concurrent_updates_lose_no_increment(backend: Backend) -> None:
    """200 concurrent increments from two stores on one backing all count."""
    stores = [backend.open(), backend.open()]
    await asyncio.gather(*(stores[n % 2].update("p:hot", bump()) for n in range(200)))
    assert count((await backend.open().snapshot(["p:hot"])).get("p:hot")) == 200


async def test_processes_lose_no_increment(backend: Backend) -> None:
    """4 processes incrementing one key 50 times each lose no increment (file and redis)."""
    if backend.kind == "memory":
        pytest.skip("a memory store is private to its process")
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, backend.spec("p:shared", 50)], cwd=ROOT)
        for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert count((await backend.open().snapshot(["p:shared"])).get("p:shared")) == 200


async def test_cooldown_until_never_moves_backwards(backend: Backend) -> None:
    """A shorter nonzero cooldown_until leaves the longer one (and its reason) in place."""
    store = backend.open()
    await store.update("p:a", cool(NOW + 600, "billing"))
    kept = await store.update("p:a", cool(NOW + 30, "rate_limit"))
    assert kept is not None
    assert (kept.cooldown_until, kept.cooldown_reason) == (NOW + 600, "billing")
    longer = await store.update("p:a", cool(NOW + 900, "auth"))
    assert longer is not None
    assert longer.cooldown_until == NOW + 900


async def test_racing_cooldowns_keep_the_latest_expiry(backend: Backend) -> None:
    """Blind concurrent cooldown writes from two stores end at the greatest expiry."""
    stores = [backend.open(), backend.open()]
    untils = [NOW + (n * 37) % 101 for n in range(60)]
    await asyncio.gather(*(stores[n % 2].update("p:a", cool(u)) for n, u in enumerate(untils)))
    assert (await backend.open().snapshot(["p:a"]))["p:a"].cooldown_until == max(untils)


async def test_zero_clears_a_cooldown_and_a_probe(backend: Backend) -> None:
    """Setting an until to 0 (success, released probe) clears it; that is not a shortening."""
    store = backend.open()
    await store.update("p:a", cool(NOW + 600))
    await store.update("p:a", claim("gw-1"))
    cleared = await store.update(
        "p:a", lambda old: replace(old or Health(), cooldown_until=0.0, probe_until=0.0)
    )
    assert cleared is not None
    assert (cleared.cooldown_until, cleared.probe_until) == (0.0, 0.0)


async def test_probe_until_never_moves_backwards(backend: Backend) -> None:
    """A shorter nonzero probe lease does not replace a longer live one."""
    store = backend.open()
    await store.update("p:a", lambda _o: Health(probe_owner="gw-1", probe_until=NOW + 60))
    kept = await store.update("p:a", lambda _o: Health(probe_owner="gw-2", probe_until=NOW + 5))
    assert kept is not None
    assert (kept.probe_owner, kept.probe_until) == ("gw-1", NOW + 60)


async def test_exactly_one_probe_claim_wins(backend: Backend) -> None:
    """50 concurrent claimers on two stores: exactly one holds the probe."""
    stores = [backend.open(), backend.open()]
    results = await asyncio.gather(
        *(stores[n % 2].update("p:primary", claim(f"req-{n}")) for n in range(50))
    )
    owners = {r.probe_owner for r in results if r is not None}
    assert len(owners) == 1
    winners = [n for n, r in enumerate(results) if r is not None and r.probe_owner == f"req-{n}"]
    assert len(winners) == 1


# ------------------------------------------------------------------------- lifecycle


async def test_aclose_is_idempotent_and_state_survives(backend: Backend) -> None:
    """aclose twice is fine; a store opened afterwards sees the state (memory: same instance)."""
    store = backend.open()
    await store.update("p:a", bump())
    if backend.kind != "memory":
        backend.opened.remove(store)
        await store.aclose()
        await store.aclose()
    assert count((await backend.open().snapshot(["p:a"])).get("p:a")) == 1


async def test_every_store_is_a_state_store(backend: Backend) -> None:
    """Each implementation satisfies the runtime-checkable StateStore protocol."""
    assert isinstance(backend.open(), StateStore)


WORKER = textwrap.dedent(
    """
    import asyncio, json, sys
    from tests.test_store_contract import bump, open_store

    async def main() -> None:
        kind, location, namespace, key, count = json.loads(sys.argv[1])
        store = open_store(kind, location, namespace)
        for _ in range(count):
            await store.update(key, bump())
        await store.aclose()

    asyncio.run(main())
    """
)
