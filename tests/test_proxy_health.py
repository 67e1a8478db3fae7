"""Candidate health read from the state store, as /readyz and the cooldown gauge use it."""

from __future__ import annotations

from dataclasses import replace

import httpx

from openclaw_failover._model import Candidate, Profile, Provider, Route, RouteTable, Secret
from openclaw_failover._ordering import key_model_key, model_key, profile_key
from openclaw_failover._ports import Health
from openclaw_failover.proxy import create_app
from openclaw_failover.proxy._health import candidate_states
from openclaw_failover.stores.memory import MemoryStateStore
from tests.fixtures.proxy import StubEngine, running_server

NOW = 1_800_000_000.0
COOL = Health(cooldown_until=NOW + 60, cooldown_reason="rate_limit")


def table() -> RouteTable:
    keys = tuple(Profile(f"p1:{i}", "p1", Secret(f"k{i}"), "config") for i in range(2))
    providers = {
        "p1": Provider("p1", "openai-completions", "http://127.0.0.1:9", profiles=keys),
        "p2": Provider("p2", "openai-completions", "http://127.0.0.1:9"),
    }
    route = Route("auto", (Candidate("p1", "m1"), Candidate("p2", "m2")))
    return RouteTable(routes={"auto": route}, providers=providers, version="v1")


async def test_states_follow_model_and_key_cooldowns() -> None:
    """Model cooling wins; a candidate is healthy while one key is; all keys cooling -> cooling."""
    t = table()
    p1 = t.providers["p1"]
    store = MemoryStateStore({key_model_key(p1.profiles[0], "m1"): COOL})
    states = await candidate_states(t, store, now=NOW)
    assert states == {"p1/m1": "healthy", "p2/m2": "healthy"}
    store = MemoryStateStore(
        {
            profile_key(p1.profiles[0]): replace(COOL, disabled=True),
            key_model_key(p1.profiles[1], "m1"): COOL,
            model_key(Candidate("p2", "m2")): COOL,
        }
    )
    states = await candidate_states(t, store, now=NOW)
    assert states == {"p1/m1": "cooling", "p2/m2": "cooling"}
    assert (await candidate_states(t, store, now=NOW + 61)) == {
        "p1/m1": "healthy",
        "p2/m2": "healthy",
    }


def test_readyz_and_gauge_from_store() -> None:
    """/readyz lists store-healthy candidates and /metrics shows the cooling one."""
    t = table()
    store = MemoryStateStore({model_key(Candidate("p1", "m1")): replace(COOL, cooldown_until=4e9)})
    with running_server(create_app(StubEngine(table=t), store=store)) as url:
        ready = httpx.get(f"{url}/readyz").json()
        assert ready["healthy"] == ["p2/m2"]
        text = httpx.get(f"{url}/metrics").text
        assert 'openclaw_failover_active_cooldowns{model="m1",provider="p1"} 1.0' in text
        assert 'openclaw_failover_active_cooldowns{model="m2",provider="p2"} 0.0' in text
