"""MemoryStateStore specifics, build_store and the forward-only rule."""

from __future__ import annotations

import pytest

from openclaw_failover._errors import ConfigError
from openclaw_failover._model import StateSettings
from openclaw_failover._ports import Health
from openclaw_failover.stores import MemoryStateStore, build_store, forward_only

NOW = 1_800_000_000.0


def test_forward_only_keeps_the_longer_cooldown_with_its_reason() -> None:
    """A shorter nonzero cooldown_until is replaced by the old one and its reason."""
    old = Health(cooldown_until=NOW + 60, cooldown_reason="billing")
    got = forward_only(old, Health(cooldown_until=NOW + 5, cooldown_reason="rate_limit"))
    assert got is not None
    assert (got.cooldown_until, got.cooldown_reason) == (NOW + 60, "billing")


def test_forward_only_lets_zero_clear_and_none_delete() -> None:
    """0 clears an until; None (delete) and a first write pass through unchanged."""
    old = Health(cooldown_until=NOW + 60, probe_owner="a", probe_until=NOW + 9)
    cleared = forward_only(old, Health())
    assert cleared == Health()
    assert forward_only(old, None) is None
    assert forward_only(None, old) == old


async def test_initial_state_is_visible() -> None:
    """A store built with initial health serves it from snapshot and items."""
    store = MemoryStateStore({"p:a": Health(last_used_at=NOW)})
    assert (await store.snapshot(["p:a"]))["p:a"].last_used_at == NOW
    assert list(await store.items()) == ["p:a"]


async def test_items_is_a_copy(memory_store: MemoryStateStore) -> None:
    """Later updates do not show up in an items() mapping taken before."""
    await memory_store.update("p:a", lambda _o: Health())
    before = await memory_store.items()
    await memory_store.update("p:b", lambda _o: Health())
    assert set(before) == {"p:a"}


def test_build_store_memory() -> None:
    """backend "memory" gives a MemoryStateStore."""
    assert isinstance(build_store(StateSettings(backend="memory")), MemoryStateStore)


def test_build_store_file_needs_a_directory() -> None:
    """backend "file" without a directory is a ConfigError naming state.directory."""
    with pytest.raises(ConfigError, match=r"state\.directory"):
        build_store(StateSettings(backend="file", directory=""))


def test_build_store_redis_needs_a_url() -> None:
    """backend "redis" without a url is a ConfigError naming state.url."""
    with pytest.raises(ConfigError, match=r"state\.url"):
        build_store(StateSettings(backend="redis"))
