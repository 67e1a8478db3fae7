"""The proxy with the real engine against fault-injecting fake providers, over loopback HTTP."""

from __future__ import annotations

import concurrent.futures
import copy
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from openclaw_failover.config import load_route_table
from openclaw_failover.proxy import create_app
from openclaw_failover.testing import (
    Answer,
    CapturingAuditSink,
    CutStream,
    FakeClock,
    FakeOpenAIServer,
    HangBeforeHeaders,
    HangMidStream,
    HttpError,
    Ok,
    ToolCall,
)
from tests.fixtures.proxy import running_server

HI = [{"role": "user", "content": "hi"}]
REPLAY = Path(__file__).parent / "fixtures" / "openclaw_request.json"


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeOpenAIServer]]:
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


def write_config(tmp_path: Path, fakes: dict[str, FakeOpenAIServer], **failover: Any) -> Path:
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": ["p2/m2", "loc/tiny"]}}},
        "providers": {
            "p1": {"auth": [{"key": "${P1_KEY_A}", "profile": "a"}, {"key": "${P1_KEY_B}"}]},
            "p2": {"auth": [{"key": "${P2_KEY}"}]},
        },
        "models": {
            "providers": {
                pid: {"api": "openai-completions", "baseUrl": fake.url}
                for pid, fake in fakes.items()
            }
        },
        "failover": {"state": {"backend": "memory"}, "tiers": {"local": ["loc"]}, **failover},
    }
    path = tmp_path / "failover.json"
    path.write_text(json.dumps(doc))
    return path


ENV = {"P1_KEY_A": "sk-p1-a", "P1_KEY_B": "sk-p1-b", "P2_KEY": "sk-p2"}


@pytest.fixture
def audit() -> CapturingAuditSink:
    return CapturingAuditSink()


@pytest.fixture
def proxy_for(tmp_path: Path, fakes: dict[str, FakeOpenAIServer], audit: CapturingAuditSink):  # type: ignore[no-untyped-def]
    def start(**failover: Any):  # type: ignore[no-untyped-def]
        path = write_config(tmp_path, fakes, **failover)
        env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), **ENV}
        result = load_route_table(str(path), kind="standalone", environ=env)
        assert result.table is not None, result.problems
        return running_server(create_app(result.table, audit=audit, reload_poll_s=3600))

    return start


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=15)


def test_answer_names_upstream_model_and_usage(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """Through the real engine, the body's model is the upstream's and usage is passed on."""
    with proxy_for() as url:
        raw = sdk(url).chat.completions.with_raw_response.create(model="auto", messages=HI)
    completion = raw.parse()
    assert completion.model == "m1"
    assert completion.choices[0].message.content == "Hello from the fake provider."
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 7
    assert raw.headers["x-openclaw-failover-profile"] == "p1:a"
    assert fakes["p1"].chat_requests[0].json["model"] == "m1"


def test_stream_fails_over_before_first_byte(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """A primary whose keys are rate limited is invisible: the fallback's stream arrives whole."""
    fakes["p1"].always(HttpError(429, retry_after=900))
    with proxy_for() as url:
        raw = sdk(url).chat.completions.with_raw_response.create(
            model="auto", messages=HI, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Hello from the fake provider."
    )
    assert chunks[-1].usage is not None
    assert raw.headers["x-openclaw-failover-provider"] == "p2"
    assert raw.headers["x-openclaw-failover-downgraded"] == "true"
    assert fakes["p1"].keys_seen() == ["sk-p1-a", "sk-p1-b"]


def test_hard_stop_on_the_wire(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """Every candidate rate limited for 15 min -> 429 with Retry-After ~900 and every attempt."""
    for fake in fakes.values():
        fake.always(HttpError(429, retry_after=900))
    with proxy_for() as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            json={"model": "auto", "messages": HI, "stream": True},
        )
        again = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            json={"model": "auto", "messages": HI, "stream": True},
        )
    assert response.status_code == 429
    assert 895 <= int(response.headers["retry-after"]) <= 901
    failover = response.json()["error"]["failover"]
    assert [a["provider"] for a in failover["attempts"]] == ["p1", "p1", "p2", "loc"]
    assert failover["soonest_retry_at"] > time.time() + 800
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) >= 61


def test_silent_primary_abandoned_at_request_deadline(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """A hanging primary is left at the header's first-token deadline, and p2 answers."""
    fakes["p1"].always(HangBeforeHeaders(limit_s=5))
    with proxy_for() as url:
        started = time.monotonic()
        response = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            json={"model": "auto", "messages": HI, "stream": True},
            headers={"x-openclaw-failover-deadline-ms": "300"},
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.headers["x-openclaw-failover-provider"] == "p2"
    assert 0.3 <= elapsed < 3.0


def test_cut_stream_ends_with_error_event(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """An upstream that cuts the stream after its first token -> error event, no [DONE]."""
    fakes["p1"].always(CutStream(after=2))
    with proxy_for() as url:
        text = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            json={"model": "auto", "messages": HI, "stream": True},
        ).text
    assert '"code":"stream_interrupted"' in text
    assert "[DONE]" not in text


def test_drift_is_404(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """A primary answering 404 for its model is route drift: 404 model_not_found, no fallback."""
    fakes["p1"].always(HttpError(404))
    with proxy_for() as url, pytest.raises(openai.NotFoundError) as info:
        sdk(url).chat.completions.create(model="auto", messages=HI)  # type: ignore[arg-type]
    assert info.value.code == "model_not_found"
    assert fakes["p2"].chat_requests == []


def test_openclaw_request_reaches_upstream_faithfully(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """The captured-shape OpenClaw request arrives upstream intact, with the upstream model id."""
    doc = json.loads(REPLAY.read_text())
    with proxy_for() as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            content=json.dumps(doc["body"]).encode(),
            headers=doc["headers"],
        )
    assert response.status_code == 200
    assert response.text.endswith("data: [DONE]\n\n")
    sent = fakes["p1"].chat_requests[0].json
    expected = copy.deepcopy(doc["body"])
    for key in ("tools", "tool_choice", "max_completion_tokens", "messages"):
        assert sent[key] == expected[key], key
    assert sent["model"] == "m1"
    assert sent["stream"] is True


def test_local_tier_strips_high_risk_tools(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """On the local tier exec/write never reach upstream; the header says what was removed."""
    fakes["p1"].always(HttpError(429, retry_after=900))
    fakes["p2"].always(HttpError(429, retry_after=900))
    fakes["loc"].always(Ok(Answer(text="", tool_calls=(ToolCall("exec", {"command": "id"}),))))
    doc = json.loads(REPLAY.read_text())
    with proxy_for() as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            content=json.dumps(doc["body"]).encode(),
            headers=doc["headers"],
        )
    assert response.status_code == 200
    names = [t["function"]["name"] for t in fakes["loc"].chat_requests[0].json["tools"]]
    assert "exec" not in names
    assert "write" not in names
    assert "read" in names
    blocked = response.headers["x-openclaw-failover-tools-blocked"].split(",")
    assert {"exec", "write", "apply_patch"} <= set(blocked)
    assert '"name":"exec"' not in response.text


def test_429_lowers_provider_concurrency(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """A 429 from p1 lowers its concurrency limit, visible in /metrics."""
    fakes["p1"].script(HttpError(429, retry_after=900))
    with proxy_for() as url:
        assert sdk(url).chat.completions.create(model="auto", messages=HI).model in ("m1", "m2")  # type: ignore[arg-type]
        text = httpx.get(f"{url}/metrics").text
    assert 'openclaw_failover_concurrency_limit{provider="p1"} 1.0' in text


def test_audit_lines_carry_request_and_trace_ids(proxy_for, fakes, audit) -> None:  # type: ignore[no-untyped-def]
    """Audit lines take the request id from x-request-id and the trace id from traceparent."""
    fakes["p1"].script(HttpError(500), HttpError(500))
    headers = {
        "x-request-id": "req-audit-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    with proxy_for() as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            headers=headers,
            json={"model": "auto", "messages": HI},
        )
    assert response.status_code == 200
    mine = [r for r in audit.records if r.request_id == "req-audit-1"]
    assert {r.event for r in mine} >= {"attempt", "outcome"}
    assert all(r.trace_id == "0af7651916cd43dd8448eb211c80319c" for r in mine)
    assert not any("sk-p1" in repr(r) for r in audit.records)


def test_max_concurrent_caps_calls_in_flight(tmp_path, fakes, audit) -> None:  # type: ignore[no-untyped-def]
    """providers.p1.maxConcurrent 1: three concurrent requests reach p1 one after another."""
    fakes["p1"].always(Ok(Answer(text="slow"), first_token_delay_s=0.3))
    path = write_config(tmp_path, fakes)
    doc = json.loads(path.read_text())
    doc["providers"]["p1"]["maxConcurrent"] = 1
    path.write_text(json.dumps(doc))
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), **ENV}
    table = load_route_table(str(path), kind="standalone", environ=env).table
    assert table is not None
    assert table.providers["p1"].max_concurrent == 1
    body = {"model": "auto", "messages": HI}
    with running_server(create_app(table, audit=audit, reload_poll_s=3600)) as url:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            replies = list(
                pool.map(
                    lambda _: httpx.post(f"{url}/v1/chat/completions", json=body, timeout=15),
                    range(3),
                )
            )
        text = httpx.get(f"{url}/metrics").text
    assert [r.status_code for r in replies] == [200, 200, 200]
    arrivals = sorted(r.at for r in fakes["p1"].chat_requests)
    assert len(arrivals) == 3
    assert all(b - a >= 0.25 for a, b in itertools.pairwise(arrivals))
    assert 'openclaw_failover_concurrency_wait_seconds_total{provider="p1"}' in text
    assert any(r.failure_kind == "concurrency_wait" for r in audit.records)


def test_readyz_down_then_ready_after_recovery(tmp_path, fakes, audit) -> None:  # type: ignore[no-untyped-def]
    """Every candidate failing -> /readyz 503; upstreams healed and cooldowns over -> 200."""
    for fake in fakes.values():
        fake.always(HttpError(500))
    clock = FakeClock()
    path = write_config(tmp_path, fakes)
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), **ENV}
    table = load_route_table(str(path), kind="standalone", environ=env).table
    assert table is not None
    app = create_app(table, audit=audit, clock=clock, reload_poll_s=3600)
    with running_server(app) as url:
        stop = httpx.post(
            f"{url}/v1/chat/completions", timeout=15, json={"model": "auto", "messages": HI}
        )
        assert stop.status_code == 429
        down = httpx.get(f"{url}/readyz", timeout=15)
        assert down.status_code == 503, down.text
        assert down.json()["healthy"] == []
        for fake in fakes.values():
            fake.reset_script()
        clock.advance(120)
        up = httpx.get(f"{url}/readyz", timeout=15)
    assert up.status_code == 200, up.text


def test_stream_gone_quiet_ends_with_error_event(proxy_for, fakes) -> None:  # type: ignore[no-untyped-def]
    """An upstream that goes silent mid-stream is ended at streamIdleS with an error event."""
    fakes["p1"].always(HangMidStream(after=2, limit_s=5))
    with proxy_for(deadlines={"streamIdleS": 0.3}) as url:
        started = time.monotonic()
        text = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=15,
            json={"model": "auto", "messages": HI, "stream": True},
        ).text
        elapsed = time.monotonic() - started
    assert '"content":"two "' in text  # the frames sent before the silence arrive
    assert '"code":"stream_interrupted"' in text
    assert "[DONE]" not in text
    assert elapsed < 3.0
