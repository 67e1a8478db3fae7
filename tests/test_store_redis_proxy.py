"""The proxy when its Redis state store goes away: "local" serves, shows and audits it; "closed"
refuses with a clear 503, and ``/readyz`` says why instead of failing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from openclaw_failover.config import load_route_table
from openclaw_failover.proxy import create_app
from openclaw_failover.testing import FakeOpenAIServer
from tests.fixtures.proxy import running_server
from tests.fixtures.redis_server import RedisServer

pytestmark = pytest.mark.redis

KEY = "sk-FAKE-redis-proxy-key"
HI = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


def _proxy(stack: ExitStack, tmp_path: Path, server: RedisServer, mode: str) -> tuple[str, Path]:
    """A proxy with state in ``server`` (``onUnavailable: mode``); returns its URL and audit."""
    fake = stack.enter_context(FakeOpenAIServer(models=["m1"]))
    audit = tmp_path / "audit.jsonl"
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
        "providers": {"p1": {"auth": [{"key": "${RP_KEY}"}]}},
        "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": fake.url}}},
        "failover": {
            "state": {"backend": "redis", "url": server.url, "onUnavailable": mode},
            "audit": {"path": str(audit)},
        },
    }
    path = tmp_path / "failover.json"
    path.write_text(json.dumps(doc))
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), "RP_KEY": KEY}
    result = load_route_table(str(path), kind="standalone", environ=env)
    assert result.table is not None, result.problems
    return stack.enter_context(running_server(create_app(result.table, reload_poll_s=3600))), audit


@pytest.fixture
def redis_and_stack(
    redis_server_factory: Callable[[], RedisServer],
) -> Iterator[tuple[RedisServer, ExitStack]]:
    """A private redis-server the test may kill, and a stack for the proxy and its fake."""
    with ExitStack() as stack:
        yield redis_server_factory(), stack


def _lines(audit: Path, event: str) -> list[dict[str, Any]]:
    if not audit.exists():
        return []
    rows = [json.loads(x) for x in audit.read_text("utf-8").splitlines() if x.strip()]
    return [r for r in rows if r["event"] == event]


async def _until(check: Callable[[], object], within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_closed_mode_refuses_with_503_and_readyz_says_why(
    redis_and_stack: tuple[RedisServer, ExitStack], tmp_path: Path
) -> None:
    """onUnavailable "closed", Redis down: chat is a 503 state_unavailable, /readyz a clear no."""
    server, stack = redis_and_stack
    url, _ = _proxy(stack, tmp_path, server, "closed")
    async with httpx.AsyncClient(timeout=15) as client:
        assert (await client.post(f"{url}/v1/chat/completions", json=HI)).status_code == 200
        server.kill()
        refused = await client.post(f"{url}/v1/chat/completions", json=HI)
        ready = await client.get(f"{url}/readyz")
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "state_unavailable"
    assert "onUnavailable" in error["message"]
    assert refused.headers["retry-after"] == "5"
    assert ready.status_code == 503, ready.text
    assert ready.json()["ready"] is False
    assert "state store unavailable" in ready.json()["detail"]
    assert KEY not in refused.text + ready.text


async def test_local_mode_serves_shows_and_audits_the_outage_and_the_return(
    redis_and_stack: tuple[RedisServer, ExitStack], tmp_path: Path
) -> None:
    """onUnavailable "local": answers go on, /readyz names the degraded store, both the fall
    back and the return are audit lines."""
    server, stack = redis_and_stack
    url, audit = _proxy(stack, tmp_path, server, "local")
    async with httpx.AsyncClient(timeout=15) as client:
        assert (await client.post(f"{url}/v1/chat/completions", json=HI)).status_code == 200
        server.kill()
        during = await client.post(f"{url}/v1/chat/completions", json=HI)
        ready = (await client.get(f"{url}/readyz")).json()
        await _until(lambda: _lines(audit, "state_degraded"))
        server.restart()
        await _until(lambda: _lines(audit, "state_restored"))
        after = (await client.get(f"{url}/readyz")).json()
    assert during.status_code == 200, during.text
    assert ready["ready"] is True
    assert "redis unavailable" in ready["state_degraded"]
    assert "state_degraded" not in after
    degraded = _lines(audit, "state_degraded")
    assert len(degraded) == 1
    assert "redis unavailable" in degraded[0]["detail"]
    assert len(_lines(audit, "state_restored")) == 1
    assert KEY not in audit.read_text("utf-8")
