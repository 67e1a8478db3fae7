"""Waiting for a provider slot (maxConcurrent) counts against the request's first-token budget."""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openclaw_failover.config import load_route_table
from openclaw_failover.proxy import create_app
from openclaw_failover.testing import Answer, CapturingAuditSink, FakeOpenAIServer, Ok
from tests.fixtures.proxy import running_server
from tests.test_proxy_engine import ENV, write_config

pytestmark = pytest.mark.slow

BODY = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeOpenAIServer]]:
    """p1 answers after 3 s; p2 and the local tier answer at once."""
    servers = {
        "p1": FakeOpenAIServer(models=["m1"]).start(),
        "p2": FakeOpenAIServer(models=["m2"]).start(),
        "loc": FakeOpenAIServer(models=["tiny"]).start(),
    }
    servers["p1"].always(Ok(Answer(text="slow"), first_token_delay_s=3.0))
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def test_slot_wait_past_the_deadline_falls_back(
    tmp_path: Path, fakes: dict[str, FakeOpenAIServer]
) -> None:
    """p1 capped at 1 and busy for 3 s: a request with a 500 ms first-token deadline does not
    wait for p1's slot beyond it; p2 answers it well before p1's first call ends."""
    path = write_config(tmp_path, fakes)
    doc = json.loads(path.read_text())
    doc["providers"]["p1"]["maxConcurrent"] = 1
    path.write_text(json.dumps(doc))
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), **ENV}
    table = load_route_table(str(path), kind="standalone", environ=env).table
    assert table is not None
    audit = CapturingAuditSink()
    with (
        running_server(create_app(table, audit=audit, reload_poll_s=3600)) as url,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        busy = pool.submit(httpx.post, f"{url}/v1/chat/completions", json=BODY, timeout=15)
        deadline = time.monotonic() + 5
        while not fakes["p1"].chat_requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fakes["p1"].chat_requests, "the first request never reached p1"
        started = time.monotonic()
        second = httpx.post(
            f"{url}/v1/chat/completions",
            json=BODY,
            headers={"x-openclaw-failover-deadline-ms": "500"},
            timeout=15,
        )
        elapsed = time.monotonic() - started
        first = busy.result()
    assert first.headers["x-openclaw-failover-provider"] == "p1"
    assert second.status_code == 200, second.text
    assert second.headers["x-openclaw-failover-provider"] == "p2"
    assert elapsed < 2.5  # p1's slot frees only after about 3 s
    assert len(fakes["p1"].chat_requests) == 1
    waited = [r for r in audit.records if r.event == "attempt" and r.provider == "p1"]
    assert waited[0].reason == "timeout"  # the slot wait is audited as p1's attempt
    assert 400 <= (waited[0].latency_ms or 0) <= 2000
