"""Reload review: rotated keys, a reload that fails while applying, same-stamp edits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from openclaw_failover._model import Profile, Provider, RouteTable, Secret
from openclaw_failover.proxy._metrics import ProxyMetrics
from openclaw_failover.proxy._reload import ConfigReloader
from openclaw_failover.proxy._runtime import ProxyRuntime
from tests.fixtures.proxy import StubEngine, make_table


@dataclass(frozen=True)
class Loaded:
    table: RouteTable | None
    problems: tuple[Any, ...] = ()


def keyed_table(key: str) -> RouteTable:
    """``make_table`` with one key on p1; the route version is the same whatever the key."""
    table = make_table(version="v1")
    profile = Profile("p1:0", "p1", Secret(key), "config")
    p1 = Provider("p1", "openai-completions", "http://127.0.0.1:9/p1", profiles=(profile,))
    return replace(table, providers={**table.providers, "p1": p1})


def runtime_on(table: RouteTable) -> tuple[ProxyRuntime, StubEngine]:
    engine = StubEngine(table=table)
    runtime = ProxyRuntime(metrics=ProxyMetrics(), engine=engine)
    runtime.reload.loaded_version = runtime.reload.disk_version = table.version
    return runtime, engine


def secret_of(engine: StubEngine) -> str:
    secret = engine.table.providers["p1"].profiles[0].secret
    assert secret is not None
    return secret.reveal()


async def test_rotated_key_with_same_version_is_applied(tmp_path: Path) -> None:
    """A reload whose only change is a key (same route version) replaces the engine's table."""
    runtime, engine = runtime_on(keyed_table("sk-FAKE-old-revoked"))
    path = tmp_path / "failover.json"
    path.write_text("{}")
    new = Loaded(keyed_table("sk-FAKE-new"))
    reloader = ConfigReloader(runtime, str(path), load=lambda _p: new)
    assert await reloader.reload("sighup") is True
    assert secret_of(engine) == "sk-FAKE-new"
    assert runtime.reload.loaded_version == "v1"
    assert await reloader.reload("sighup") is False  # nothing changed this time
