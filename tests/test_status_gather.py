"""status and cooldowns clear over a memory store and fake transports (no network)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import MappingProxyType

import pytest

from openclaw_failover._cooldowns import clear_cooldowns
from openclaw_failover._errors import StateStoreError
from openclaw_failover._model import (
    Candidate,
    Profile,
    Provider,
    Route,
    RouteTable,
    Secret,
    Tier,
)
from openclaw_failover._openclaw_state import read_openclaw_state
from openclaw_failover._ports import AuditRecord, Health, HealthUpdate, UpstreamCall, UpstreamReply
from openclaw_failover._status import candidate_keys, cleared, gather_status, health_state
from openclaw_failover.stores.memory import MemoryStateStore

from .test_status_openclaw_state import NOW, STORE_KEY, seed_2026_9_6

CONFIG_KEY = "sk-config-DISTINCTIVE-91ab"


def profile(provider: str, label: str, key: str | None = CONFIG_KEY) -> Profile:
    """A profile whose key came from the config (or could not be resolved)."""
    return Profile(
        id=f"{provider}:{label}",
        provider=provider,
        secret=Secret(key) if key else None,
        source="env",
        source_name=f"{provider.upper()}_API_KEY",
        fingerprint=f"fp-{label}",
    )


def make_table() -> RouteTable:
    """anthropic (two keys) -> openai (one unresolvable key) -> ollama (local)."""
    providers = {
        "anthropic": Provider(
            "anthropic",
            "anthropic-messages",
            "https://a.invalid",
            (profile("anthropic", "main"), profile("anthropic", "spare")),
        ),
        "openai": Provider(
            "openai", "openai-completions", "https://o.invalid", (profile("openai", "0", key=None),)
        ),
        "ollama": Provider("ollama", "ollama", "http://127.0.0.1:11434", ()),
    }
    chain = (
        Candidate("anthropic", "claude-opus-4-6"),
        Candidate("openai", "gpt-5.4-mini"),
        Candidate("ollama", "qwen3:8b", Tier.LOCAL),
    )
    return RouteTable(
        routes=MappingProxyType({"auto": Route("auto", chain)}),
        providers=MappingProxyType(providers),
        version="rv-test",
        config_path="/tmp/openclaw.json",
        kind="openclaw",
    )


class FakeListing:
    """A transport whose only job here is ``list_models``."""

    def __init__(self, models: list[str] | Exception) -> None:
        self.models = models

    def send(self, call: UpstreamCall) -> AbstractAsyncContextManager[UpstreamReply]:
        """Never used by status."""
        raise AssertionError("status makes no model calls")

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """The scripted list, or the scripted failure."""
        if isinstance(self.models, Exception):
            raise self.models
        return self.models


class ListSink:
    """An audit sink that keeps records in a list."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def emit(self, record: AuditRecord) -> None:
        """Keep it."""
        self.records.append(record)

    async def aclose(self) -> None:
        """Nothing to close."""


@pytest.fixture
async def seeded() -> AsyncIterator[tuple[RouteTable, MemoryStateStore]]:
    """anthropic:main cooling (rate_limit), anthropic:spare disabled (billing), opus model ok."""
    table = make_table()
    store = MemoryStateStore()
    keys = candidate_keys(table.routes["auto"].candidates[0], table.providers["anthropic"])
    cooling = Health(
        cooldown_until=NOW + 120,
        cooldown_reason="rate_limit",
        failure_counts=MappingProxyType({"rate_limit": 2}),
        last_good_at=NOW - 50,
    )
    disabled = Health(cooldown_until=NOW + 3600, cooldown_reason="billing", disabled=True)
    await store.update(keys["anthropic:main"][1], lambda _: cooling)
    await store.update(keys["anthropic:spare"][0], lambda _: disabled)
    await store.update("unrelated-key", lambda _: Health(cooldown_until=NOW + 5))
    yield table, store
    await store.aclose()


async def test_status_shows_each_key_state_reason_and_source(
    seeded: tuple[RouteTable, MemoryStateStore], tmp_path: Path
) -> None:
    """Cooling and disabled keys with reason and until; an unresolved key is 'no key'."""
    table, store = seeded
    report = await gather_status(
        table,
        store=store,
        transports={"ollama": FakeListing(["qwen3:8b"])},
        now=NOW,
        openclaw=read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)}),
    )
    data = report.to_json()
    opus = data["candidates"][0]
    keys = {k["profile"]: k for k in opus["keys"]}
    assert (keys["anthropic:main"]["state"], keys["anthropic:main"]["reason"]) == (
        "cooling",
        "rate_limit",
    )
    assert keys["anthropic:main"]["until"] == NOW + 120
    assert keys["anthropic:main"]["failure_counts"] == {"rate_limit": 2}
    assert keys["anthropic:main"]["source"] == "env:ANTHROPIC_API_KEY"
    assert keys["anthropic:spare"]["state"] == "disabled"
    assert opus["state"]["state"] == "healthy"
    assert data["candidates"][1]["keys"][0]["state"] == "no key"
    assert data["local"] == [
        {
            "provider": "ollama",
            "model": "qwen3:8b",
            "base_url": "http://127.0.0.1:11434",
            "reachable": True,
            "present": True,
            "detail": "",
        }
    ]
    assert "unrelated-key" in data["other_state"]
    assert data["route_version"] == "rv-test"


async def test_status_local_tier_missing_model_and_unreachable(
    seeded: tuple[RouteTable, MemoryStateStore], tmp_path: Path
) -> None:
    """A local tier without the model says so; one that fails to list is unreachable."""
    table, store = seeded
    oc = read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)})
    missing = await gather_status(
        table, store=store, transports={"ollama": FakeListing(["llama3"])}, now=NOW, openclaw=oc
    )
    assert (missing.local[0].reachable, missing.local[0].present) == (True, False)
    assert "not pulled" in missing.local[0].detail
    down = await gather_status(
        table,
        store=store,
        transports={"ollama": FakeListing(OSError("refused"))},
        now=NOW,
        openclaw=oc,
    )
    assert not down.local[0].reachable


async def test_status_includes_openclaw_cooldowns_never_the_key(
    seeded: tuple[RouteTable, MemoryStateStore], tmp_path: Path
) -> None:
    """OpenClaw's own cooldown (2026.9.6 SQLite) is in the JSON; neither key appears in it."""
    table, store = seeded
    seed_2026_9_6(tmp_path)
    report = await gather_status(
        table,
        store=store,
        transports={},
        now=NOW,
        openclaw=read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)}),
    )
    text = json.dumps(report.to_json())
    assert "fakeprimary:manual" in text
    assert "config_machine_state authProfiles.state" in text
    assert STORE_KEY not in text
    assert CONFIG_KEY not in text + repr(report)


async def test_clear_by_provider_is_atomic_audited_and_scoped(
    seeded: tuple[RouteTable, MemoryStateStore],
) -> None:
    """--provider anthropic clears its keys (audited as manual_intervention), nothing else."""
    table, store = seeded
    sink = ListSink()
    result = await clear_cooldowns(table, store, now=NOW, audit=sink, provider="anthropic")
    assert sorted(result.cleared.values()) == ["cooling", "disabled"]
    after = await store.items()
    assert all(health_state(after[k], NOW) == "healthy" for k in result.cleared)
    assert after["unrelated-key"].cooldown_until == NOW + 5
    assert [r.event for r in sink.records] == ["manual_intervention"] * 2
    assert {r.profile for r in sink.records} == {"anthropic:main", "anthropic:spare"}
    kept = next(h for k, h in after.items() if k in result.cleared and h.last_good_at)
    assert kept.last_good_at == NOW - 50


async def test_clear_all_reaches_unknown_keys_and_profile_is_narrow(
    seeded: tuple[RouteTable, MemoryStateStore],
) -> None:
    """--profile touches one key only; --all also clears keys no route names."""
    table, store = seeded
    one = await clear_cooldowns(table, store, now=NOW, profile="anthropic:spare")
    assert list(one.cleared.values()) == ["disabled"]
    everything = await clear_cooldowns(table, store, now=NOW, everything=True)
    assert "unrelated-key" in everything.cleared
    assert all(health_state(h, NOW) == "healthy" for h in (await store.items()).values())


def test_cleared_keeps_usage_and_drops_penalties() -> None:
    """The clear function resets cooldown, disable, probe claim and counters only."""
    before = Health(
        cooldown_until=9.0,
        cooldown_reason="auth",
        disabled=True,
        probe_owner="x",
        probe_until=9.0,
        failure_counts=MappingProxyType({"auth": 3}),
        last_used_at=4.0,
    )
    after = cleared(before)
    assert after is not None
    assert (
        after.cooldown_until,
        after.disabled,
        after.probe_owner,
        dict(after.failure_counts),
    ) == (0.0, False, None, {})
    assert after.last_used_at == 4.0
    assert cleared(None) is None


class FallsBackOnWrite(MemoryStateStore):
    """A store whose writes fall back to this process's memory (a full disk, Redis gone):
    the write returns, but ``degraded_reason`` says it did not land."""

    degraded_reason: str | None = None

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        self.degraded_reason = "No space left on device"
        return await super().update(key, fn)


async def test_a_clear_that_only_reached_memory_is_an_error_not_a_success(
    seeded: tuple[RouteTable, MemoryStateStore],
) -> None:
    """The store fell back to memory while clearing: the command must not report the key
    cleared (the clear dies with the process); it names the key and the reason, and audits
    no manual_intervention for it."""
    table, seeded_store = seeded
    store = FallsBackOnWrite()
    for key, health in (await seeded_store.items()).items():
        await MemoryStateStore.update(store, key, lambda _, h=health: h)
    sink = ListSink()
    with pytest.raises(StateStoreError) as info:
        await clear_cooldowns(table, store, now=NOW, audit=sink, provider="anthropic")
    assert "not cleared (0 cleared before it)" in str(info.value)
    assert "No space left on device" in str(info.value)
    assert sink.records == []
