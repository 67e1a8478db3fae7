"""Two proxies on one real Redis: a cooldown crosses gateways; a Redis restart loses nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from openclaw_failover.config import load_route_table
from openclaw_failover.proxy import create_app
from openclaw_failover.testing import FakeOpenAIServer, HttpError
from tests.fixtures.proxy import running_server
from tests.fixtures.redis_server import RedisServer

pytestmark = pytest.mark.redis

KEY1, KEY2 = "sk-FAKE-gw-1", "sk-FAKE-gw-2"
HI = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


def gateway(
    stack: ExitStack, tmp_path: Path, name: str, redis_url: str
) -> tuple[str, FakeOpenAIServer]:
    """A proxy on its own fake upstream; keys in explicit order; state in Redis; shared salt."""
    fake = stack.enter_context(FakeOpenAIServer(models=["m1"]))
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
        "providers": {"p1": {"auth": [{"key": "${GW_K1}"}, {"key": "${GW_K2}"}]}},
        "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": fake.url}}},
        "failover": {"state": {"backend": "redis", "url": redis_url, "namespace": "gw"}},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state")}
    result = load_route_table(
        str(path), kind="standalone", environ={**env, "GW_K1": KEY1, "GW_K2": KEY2}
    )
    assert result.table is not None, result.problems
    url = stack.enter_context(running_server(create_app(result.table, reload_poll_s=3600)))
    return url, fake


@pytest.fixture
def two_gateways(
    tmp_path: Path, redis_server_factory: Callable[[], RedisServer]
) -> Iterator[tuple[RedisServer, list[str], list[FakeOpenAIServer]]]:
    """Gateways A and B on a private redis-server that the test may kill."""
    server = redis_server_factory()
    with ExitStack() as stack:
        a_url, a_fake = gateway(stack, tmp_path, "a", server.url)
        b_url, b_fake = gateway(stack, tmp_path, "b", server.url)
        yield server, [a_url, b_url], [a_fake, b_fake]


async def profile_used(client: httpx.AsyncClient, url: str) -> str:
    """Send one chat request; return the profile that answered (it must answer)."""
    reply = await client.post(f"{url}/v1/chat/completions", json=HI)
    assert reply.status_code == 200, reply.text[:300]
    return reply.headers["x-openclaw-failover-profile"]


async def test_a_429_on_one_gateway_cools_the_key_on_the_other(two_gateways) -> None:  # type: ignore[no-untyped-def]
    """After gateway A meets a 429 on key 1, gateway B's very next request skips key 1."""
    _, (a_url, b_url), (a_fake, b_fake) = two_gateways
    a_fake.always(HttpError(429, retry_after=600), key=KEY1)
    async with httpx.AsyncClient(timeout=15) as client:
        assert await profile_used(client, a_url) == "p1:1"
        assert await profile_used(client, b_url) == "p1:1"
    assert a_fake.keys_seen() == [KEY1, KEY2]
    assert b_fake.keys_seen() == [KEY2]


async def test_redis_restart_under_load_loses_no_request_and_converges(two_gateways) -> None:  # type: ignore[no-untyped-def]
    """Killing Redis mid-load: every request is answered; after restart a new cooldown set on
    A reaches B within 10 s."""
    server, (a_url, b_url), (a_fake, _) = two_gateways
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=15) as client:

        async def load(url: str) -> None:
            for _ in range(120):
                reply = await client.post(f"{url}/v1/chat/completions", json=HI)
                statuses.append(reply.status_code)
                await asyncio.sleep(0.005)

        running = asyncio.gather(*(load(u) for u in (a_url, b_url, a_url, b_url)))
        while len(statuses) < 60:
            await asyncio.sleep(0.01)
        server.kill()
        while len(statuses) < 240:
            await asyncio.sleep(0.01)
        server.restart()
        await running
        assert statuses == [200] * 480
        a_fake.always(HttpError(429, retry_after=600), key=KEY1)
        assert await profile_used(client, a_url) == "p1:1"
        start = time.monotonic()
        while await profile_used(client, b_url) != "p1:1":
            assert time.monotonic() - start < 10.0, "the cooldown never reached gateway B"
            await asyncio.sleep(0.05)
