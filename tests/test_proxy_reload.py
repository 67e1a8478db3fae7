"""Config reloads: on file change and SIGHUP, keeping the old table when the new one is invalid."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from openclaw_failover._errors import Problem
from openclaw_failover._model import RouteTable
from openclaw_failover.proxy import create_app
from openclaw_failover.proxy._metrics import ProxyMetrics
from openclaw_failover.proxy._reload import ConfigReloader
from openclaw_failover.proxy._runtime import ProxyRuntime
from tests.fixtures.proxy import StubEngine, make_table, running_server


@dataclass(frozen=True)
class FakeLoad:
    table: RouteTable | None
    problems: tuple[Any, ...] = ()


def fake_loader(path: str) -> FakeLoad:
    """Reads ``{"version": ..., "valid": ...}`` instead of a real config."""
    data = json.loads(Path(path).read_text())
    if not data.get("valid", True):
        problem = Problem("schema", "model.primary", "a number 5", "a provider/model string")
        return FakeLoad(None, (problem,))
    return FakeLoad(make_table(version=data["version"]))


def write(path: Path, **data: Any) -> None:
    # whole file at once: a poll that caught write_text's truncation read "" and recorded a
    # JSONDecodeError, which the invalid-file test sometimes took for the schema error
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
    stamp = time.time_ns() + 1_000_000_000  # make the change visible even on coarse mtimes
    os.utime(path, ns=(stamp, stamp))


def wait_for(predicate, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_file_change_applies_new_table_and_invalid_keeps_old(tmp_path: Path) -> None:
    """A changed valid file is applied; an invalid one is refused; /readyz shows both versions."""
    path = tmp_path / "failover.json"
    write(path, version="v1")
    engine = StubEngine()
    app = create_app(engine, config_path=str(path), load=fake_loader, reload_poll_s=0.02)
    with running_server(app) as url:
        write(path, version="v2")
        wait_for(lambda: engine.table.version == "v2")
        assert httpx.get(f"{url}/v1/models").headers["x-openclaw-failover-route-version"] == "v2"
        write(path, valid=False)
        wait_for(lambda: app.state.runtime.reload.last_error is not None)
        assert engine.table.version == "v2"
        ready = httpx.get(f"{url}/readyz").json()
        assert ready["route_version"] == {"loaded": "v2", "on_disk": None}
        assert ready["config_in_sync"] is False
        assert "model.primary" in ready["last_reload_error"]
        text = httpx.get(f"{url}/metrics").text
        assert 'openclaw_failover_config_reloads_total{result="invalid"}' in text


async def test_sighup_reloads(tmp_path: Path) -> None:
    """SIGHUP makes the proxy load its config again."""
    path = tmp_path / "failover.json"
    write(path, version="v1")
    engine = StubEngine()
    runtime = ProxyRuntime(metrics=ProxyMetrics(), engine=engine)
    runtime.reload.loaded_version = "v1"
    reloader = ConfigReloader(runtime, str(path), load=fake_loader)
    assert reloader.install_sighup()
    try:
        write(path, version="v9")
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(200):
            if engine.table.version == "v9":
                break
            await asyncio.sleep(0.01)
        assert engine.table.version == "v9"
        assert runtime.reload.loaded_version == "v9"
    finally:
        reloader.remove_sighup()


async def test_unreadable_file_keeps_serving(tmp_path: Path) -> None:
    """A loader that raises (unreadable file) is a refused reload, not a crash."""
    engine = StubEngine()
    runtime = ProxyRuntime(metrics=ProxyMetrics(), engine=engine)
    runtime.reload.loaded_version = "v1"
    reloader = ConfigReloader(runtime, str(tmp_path / "missing.json"), load=fake_loader)
    assert await reloader.reload("test") is False
    assert engine.table.version == "v1"
    assert "FileNotFoundError" in (runtime.reload.last_error or "")


async def test_reload_reconfigures_listeners(tmp_path: Path) -> None:
    """Listeners (the provider limits) see each applied table."""
    path = tmp_path / "failover.json"
    write(path, version="v2")
    seen: list[str] = []
    runtime = ProxyRuntime(metrics=ProxyMetrics(), engine=StubEngine())
    runtime.table_listeners.append(lambda t: seen.append(t.version))
    reloader = ConfigReloader(runtime, str(path), load=fake_loader)
    assert await reloader.reload("test") is True
    assert await reloader.reload("again") is False
    assert seen == ["v2"]
