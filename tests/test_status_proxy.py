"""`status` shows what the running proxy serves (its route version next to the file's) and a
state store that fell back to local state because Redis is unreachable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover.testing import FakeOpenAIServer
from tests.fixtures.proxy import serve_process

TOKEN = "proxy-token-SECRET-5e0c"
KEY = "sk-FAKE-status-proxy"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _doc(fake_url: str, *, port: int, primary: str = "p1/m1", **state: Any) -> dict[str, Any]:
    return {
        "agents": {"defaults": {"model": {"primary": primary, "fallbacks": []}}},
        "providers": {"p1": {"auth": [{"key": "${P1_KEY}"}]}},
        "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": fake_url}}},
        "failover": {
            "state": state or {"backend": "memory"},
            "proxy": {"port": port, "token": TOKEN},
        },
    }


def _env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "oc"), "P1_KEY": KEY}


def _status(config: Path, env: dict[str, str], *extra: str) -> tuple[int, str]:
    """Run `status`; return (exit code, stdout). Neither stream may hold the token or key."""
    proc = subprocess.run(
        [sys.executable, "-m", "openclaw_failover", "status", "--config", str(config), *extra],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-3000:]
    assert TOKEN not in output
    assert KEY not in output
    return proc.returncode, proc.stdout


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    """One upstream that lists m1 and m2."""
    server = FakeOpenAIServer(models=["m1", "m2"]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_status_shows_the_proxys_loaded_version_and_a_stale_one(
    tmp_path: Path, fake: FakeOpenAIServer
) -> None:
    """With the proxy serving the file, loaded == the file's version; another file with a new
    chain on the same port shows the proxy serving a different version, with a warning."""
    port = _free_port()
    served_file = tmp_path / "failover.json"
    served_file.write_text(json.dumps(_doc(fake.url, port=port)))
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(_doc(fake.url, port=port, primary="p1/m2")))
    env = _env(tmp_path)
    with serve_process(str(served_file), env):
        code, out = _status(served_file, env, "--json")
        assert code == 0, out
        data = json.loads(out)
        proxy = data["proxy"]
        assert proxy["reachable"] is True
        assert proxy["ready"] is True, proxy
        assert proxy["route_version"]["loaded"] == data["route_version"]
        assert proxy["route_version"]["on_disk"] == data["route_version"]
        _, table = _status(served_file, env)
        assert f"serving route version {data['route_version']}" in table
        assert "has not reloaded it" not in table
        _, stale = _status(edited, env)
    assert f"serving route version {data['route_version']}" in stale
    assert "has not reloaded it, or it reads another file" in stale


def test_status_says_when_no_proxy_listens(tmp_path: Path, fake: FakeOpenAIServer) -> None:
    """Nobody on the proxy port: status still works and says the proxy is not reachable."""
    config = tmp_path / "failover.json"
    config.write_text(json.dumps(_doc(fake.url, port=_free_port())))
    code, out = _status(config, _env(tmp_path), "--json")
    assert code == 0, out
    proxy = json.loads(out)["proxy"]
    assert (proxy["reachable"], proxy["ready"]) == (False, None)
    assert "not reachable" in proxy["detail"]


def test_status_flags_a_redis_store_running_on_local_state(
    tmp_path: Path, fake: FakeOpenAIServer
) -> None:
    """state.backend redis with nobody on its port: status says the store is degraded (local
    state only) instead of showing every key as healthy without comment."""
    redis_url = f"redis://127.0.0.1:{_free_port()}/0"
    config = tmp_path / "failover.json"
    doc = _doc(fake.url, port=_free_port(), backend="redis", url=redis_url, namespace="st")
    config.write_text(json.dumps(doc))
    code, out = _status(config, _env(tmp_path), "--json")
    assert code == 0, out
    reason = json.loads(out)["store_degraded"]
    assert reason is not None
    assert "redis unavailable" in reason
    _, table = _status(config, _env(tmp_path))
    assert "state store degraded" in table
