"""/metrics through the real engine: fallbacks, blocked tools and latency histograms."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from openclaw_failover.config import load_route_table
from openclaw_failover.proxy import create_app
from openclaw_failover.testing import (
    Answer,
    CapturingAuditSink,
    FakeOpenAIServer,
    HttpError,
    Ok,
    ToolCall,
)
from tests.fixtures.proxy import running_server
from tests.test_proxy_engine import ENV, REPLAY, write_config

HI = [{"role": "user", "content": "hi"}]
Fakes = dict[str, FakeOpenAIServer]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    """Primary p1/m1, fallback p2/m2 and local-tier loc/tiny upstreams on loopback."""
    servers = {
        "p1": FakeOpenAIServer(models=["m1"]).start(),
        "p2": FakeOpenAIServer(models=["m2"]).start(),
        "loc": FakeOpenAIServer(models=["tiny"]).start(),
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def proxy(tmp_path: Path, fakes: Fakes) -> Callable[[], AbstractContextManager[str]]:
    """Start the proxy with the real engine on those fakes (memory state, local tier loc)."""

    def start() -> AbstractContextManager[str]:
        path = write_config(tmp_path, fakes)
        env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), **ENV}
        table = load_route_table(str(path), kind="standalone", environ=env).table
        assert table is not None
        app = create_app(table, audit=CapturingAuditSink(), reload_poll_s=3600)
        return running_server(app)

    return start


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample line of the exposition (0.0 when absent; labels sorted)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    prefix = f"{name}{{{want}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


def test_fallback_and_latency_are_counted(
    proxy: Callable[[], AbstractContextManager[str]], fakes: Fakes
) -> None:
    """A primary answering 500 (then cooling): both requests fall back to p2, are counted as
    fallbacks (none for p1), and land in the first-token and duration histograms."""
    fakes["p1"].script(HttpError(500), HttpError(500))
    body = {"model": "auto", "messages": HI}
    with proxy() as url:
        first = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=15)
        second = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=15)
        text = httpx.get(f"{url}/metrics", timeout=15).text
    assert first.headers["x-openclaw-failover-provider"] == "p2"
    assert second.headers["x-openclaw-failover-provider"] == "p2"
    fallbacks = "openclaw_failover_fallbacks_total"
    assert _sample(text, fallbacks, provider="p2", model="m2", tier="cloud") == 2.0
    assert _sample(text, fallbacks, provider="p1", model="m1", tier="cloud") == 0.0
    first_token = "openclaw_failover_first_token_seconds_count"
    assert _sample(text, first_token, route="auto", tier="cloud") == 2.0
    duration = "openclaw_failover_request_seconds_count"
    assert _sample(text, duration, route="auto", outcome="answered_downgraded") == 2.0


def test_tools_removed_on_the_local_tier_are_counted(
    proxy: Callable[[], AbstractContextManager[str]], fakes: Fakes
) -> None:
    """A local-tier answer to the OpenClaw-shaped request counts each removed high-risk tool."""
    fakes["p1"].always(HttpError(429, retry_after=900))
    fakes["p2"].always(HttpError(429, retry_after=900))
    fakes["loc"].always(Ok(Answer(text="ok", tool_calls=(ToolCall("read", {"path": "a"}),))))
    doc = json.loads(REPLAY.read_text())
    with proxy() as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            content=json.dumps(doc["body"]).encode(),
            headers=doc["headers"],
        )
        text = httpx.get(f"{url}/metrics", timeout=15).text
    assert response.status_code == 200
    blocked = response.headers["x-openclaw-failover-tools-blocked"].split(",")
    assert "exec" in blocked
    for tool in blocked:
        assert _sample(text, "openclaw_failover_tools_blocked_total", tool=tool) == 1.0
    assert _sample(text, "openclaw_failover_tools_blocked_total", tool="read") == 0.0


def test_loop_metrics_expose_what_prometheus_client_would() -> None:
    """The proxy's lock-free counter and histogram families render the same samples as
    prometheus_client's own Counter and Histogram fed the same updates (``_created`` aside,
    which they do not keep), bucket edges included."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from openclaw_failover.proxy._metrics import LoopCounter, LoopHistogram

    buckets = (0.005, 0.01, 1, 2.5, 120)
    ours_reg, ref_reg = CollectorRegistry(), CollectorRegistry()
    ours_c = LoopCounter("x_requests", "Requests.", ["route", "outcome"], registry=ours_reg)
    ref_c = Counter("x_requests", "Requests.", ["route", "outcome"], registry=ref_reg)
    ours_h = LoopHistogram("x_seconds", "Time.", ["route"], buckets=buckets, registry=ours_reg)
    ref_h = Histogram("x_seconds", "Time.", ["route"], buckets=buckets, registry=ref_reg)
    for value in (0.0, 0.005, 0.0051, 0.01, 1.0, 2.4, 2.5, 119.9, 120.0, 120.1, 9e9):
        for route in ("auto", "gap"):
            ours_h.labels(route).observe(value)
            ref_h.labels(route).observe(value)
    for labels, amount in ((("auto", "answered"), 1.0), (("auto", "hard_stop"), 3.0)):
        ours_c.labels(*labels).inc(amount)
        ref_c.labels(*labels).inc(amount)
    ours_c.labels("auto", "answered").inc()
    ref_c.labels("auto", "answered").inc()

    def lines(registry: CollectorRegistry) -> list[str]:
        text = generate_latest(registry).decode()
        return [line for line in text.splitlines() if "_created" not in line]

    assert lines(ours_reg) == lines(ref_reg)
    with pytest.raises(ValueError, match="expected labels"):
        ours_h.labels("auto", "extra")
