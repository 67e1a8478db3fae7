"""Reload review: rotated keys, a reload that fails while applying, same-stamp edits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
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


def write_version(path: Path, version: str) -> None:
    path.write_text(json.dumps({"version": version}))
    stamp = time.time_ns() + 1_000_000_000  # visible even on coarse mtimes
    os.utime(path, ns=(stamp, stamp))


def version_loader(path: str) -> Loaded:
    return Loaded(make_table(version=json.loads(Path(path).read_text())["version"]))


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


async def test_failing_listener_does_not_end_the_watch(tmp_path: Path) -> None:
    """A listener that raises on one reload leaves the table applied and later edits reloaded."""
    runtime, engine = runtime_on(make_table(version="v1"))
    seen: list[str] = []

    def listener(table: RouteTable) -> None:
        seen.append(table.version)
        if table.version == "v2":
            raise RuntimeError("listener bug")

    runtime.table_listeners.append(listener)
    path = tmp_path / "failover.json"
    write_version(path, "v1")
    reloader = ConfigReloader(runtime, str(path), load=version_loader, poll_s=0.01)
    task = asyncio.create_task(reloader.watch())
    try:
        write_version(path, "v2")
        assert await wait_until(lambda: seen == ["v2"])
        assert runtime.reload.loaded_version == "v2"
        write_version(path, "v3")
        assert await wait_until(lambda: engine.table.version == "v3")
        assert runtime.reload.loaded_version == "v3"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_engine_refusing_the_table_keeps_the_old_one(tmp_path: Path) -> None:
    """An engine that raises while taking the new table is a refused reload, not a crash."""
    runtime, engine = runtime_on(make_table(version="v1"))

    def broken(table: RouteTable) -> None:
        raise ValueError(f"cannot plan {table.version}")

    engine.replace_table = broken  # type: ignore[method-assign]
    path = tmp_path / "failover.json"
    write_version(path, "v2")
    reloader = ConfigReloader(runtime, str(path), load=version_loader)
    assert await reloader.reload("sighup") is False
    assert engine.table.version == "v1"
    assert runtime.reload.loaded_version == "v1"
    assert "ValueError: cannot plan v2" in (runtime.reload.last_error or "")


async def test_same_size_edit_within_one_mtime_tick_is_reloaded(tmp_path: Path) -> None:
    """An in-place edit that keeps size, inode and mtime (coarse clocks) is still reloaded."""
    runtime, engine = runtime_on(make_table(version="v1"))
    path = tmp_path / "failover.json"
    write_version(path, "v1")
    before = path.stat()
    reloader = ConfigReloader(runtime, str(path), load=version_loader, poll_s=0.01)
    task = asyncio.create_task(reloader.watch())
    try:
        with path.open("r+b") as handle:  # same size, same inode
            handle.write(json.dumps({"version": "v2"}).encode())
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same tick
        assert path.stat().st_size == before.st_size
        assert await wait_until(lambda: engine.table.version == "v2", timeout_s=1.0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_start_up_only_settings_are_named_as_needing_a_restart(tmp_path: Path) -> None:
    """A reload that moves the state backend or port says a restart is needed, without values."""
    runtime, engine = runtime_on(make_table(version="v1"))
    running = engine.table.settings
    moved = replace(
        running,
        state=replace(running.state, backend="redis", url=Secret("redis://:pw-FAKE@127.0.0.1:1")),
        proxy=replace(running.proxy, port=9999),
    )
    path = tmp_path / "failover.json"
    path.write_text("{}")
    new = Loaded(replace(make_table(version="v2"), settings=moved))
    reloader = ConfigReloader(runtime, str(path), load=lambda _p: new)
    assert await reloader.reload("sighup") is True
    assert engine.table.version == "v2"  # the routing part is applied
    error = runtime.reload.last_error or ""
    assert "state.backend, state.url, proxy.port" in error
    assert "restart" in error
    assert "pw-FAKE" not in error
    assert await reloader.reload("sighup") is False  # still said on the next, unchanged load
    assert runtime.reload.last_error == error
