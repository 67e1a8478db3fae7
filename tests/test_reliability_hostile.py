"""Hostile input: fuzzed bodies and headers never draw a 5xx from the proxy itself, and
slow-loris clients do not stop normal requests.

The proxy runs on a real loopback socket in front of an OpenAI-shaped, an Anthropic-shaped and
an Ollama (local tier) fake, each answering or failing at random, so a fuzzed request travels
through the engine and every wire adapter. A 5xx the proxy would only pass on from an upstream
cannot happen here: no fake sends one that reaches the client (503s fail over, and the local
tier always answers). Oversized bodies are refused before they are read whole by
``tests/test_proxy_sockets.py`` (Content-Length and chunked).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw_failover.config import load_route_table
from openclaw_failover.proxy import create_app
from openclaw_failover.testing import (
    FakeAnthropicServer,
    FakeOllamaServer,
    FakeOpenAIServer,
    HttpError,
    Mix,
    Ok,
    tool_reply,
)
from tests.fixtures.chaos import loris_trial
from tests.fixtures.proxy import running_server

pytestmark = pytest.mark.slow

#: ``OPENCLAW_FAILOVER_FUZZ_EXAMPLES`` runs more examples per fuzz test (default 150).
FUZZ = settings(
    max_examples=int(os.environ.get("OPENCLAW_FAILOVER_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def proxy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The proxy (file store, memory audit) over three fakes of three wire formats."""
    root = tmp_path_factory.mktemp("hostile")
    flaky = Mix.of([(3, Ok()), (1, HttpError(503)), (1, tool_reply("exec", {"cmd": "ls"}))])
    fakes = [
        FakeOpenAIServer(models=["m1"], default=flaky).start(),
        FakeAnthropicServer(models=["c1"], default=flaky).start(),
        FakeOllamaServer(models=["q:1b"]).start(),
    ]
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": ["an/c1", "ol/q:1b"]}}},
        "providers": {
            "p1": {"auth": [{"key": "sk-FAKE-hostile-1"}]},
            "an": {"auth": [{"key": "sk-ant-FAKE-2"}]},
        },
        "models": {
            "providers": {
                "p1": {"api": "openai-completions", "baseUrl": fakes[0].url},
                "an": {"api": "anthropic-messages", "baseUrl": fakes[1].base_url},
                "ol": {"api": "ollama", "baseUrl": fakes[2].base_url, "apiKey": "ollama-local"},
            }
        },
        "failover": {
            "state": {"backend": "file", "directory": str(root / "state")},
            "audit": {"path": str(root / "audit.jsonl")},
            "proxy": {"maxBodyBytes": 65536},
            "cooldowns": {k: {"baseS": 0.01, "capS": 0.01} for k in ("server_error", "overloaded")},
        },
    }
    path = root / "failover.json"
    path.write_text(json.dumps(doc))
    env = {"HOME": str(root), "OPENCLAW_STATE_DIR": str(root / "oc")}
    result = load_route_table(str(path), kind="standalone", environ=env)
    assert result.table is not None, result.errors
    try:
        with running_server(create_app(result.table, reload_poll_s=3600)) as url:
            yield url
    finally:
        for fake in fakes:
            fake.stop()


def assert_clear(reply: httpx.Response) -> None:
    """Not a 5xx; a rejection is a 4xx with an OpenAI error object that says what was wrong."""
    assert reply.status_code < 500, reply.text[:500]
    if reply.status_code >= 400:
        error = reply.json()["error"]
        assert isinstance(error["message"], str), reply.text[:500]
        assert error["message"], reply.text[:500]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "developer", "x"]) | JSON},
    optional={"content": JSON, "tool_calls": JSON, "name": JSON, "tool_call_id": JSON},
)
FIELDS = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        (
            "stream",
            "stream_options",
            "tools",
            "tool_choice",
            "max_tokens",
            "temperature",
            "n",
            "response_format",
            "stop",
        ),
        JSON,
    ),
)
BODY = st.builds(
    lambda model, messages, fields: {"model": model, "messages": messages, **fields},
    st.sampled_from(["auto", "failover/auto", "nope"]) | JSON,
    st.lists(MESSAGE | JSON, max_size=3) | JSON,
    FIELDS,
)


@FUZZ
@given(body=BODY | JSON)
def test_fuzzed_json_bodies_never_draw_a_5xx(proxy_url: str, body: Any) -> None:
    """Any JSON body (near-valid chat requests included) gets an answer or a clear 4xx."""
    reply = httpx.post(
        f"{proxy_url}/v1/chat/completions",
        content=json.dumps(body),
        timeout=30,
        headers={"content-type": "application/json"},
    )
    assert_clear(reply)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_fuzzed_raw_bytes_never_draw_a_5xx(proxy_url: str, raw: bytes) -> None:
    """Arbitrary bytes (not JSON, not UTF-8, cut short) are a clear 400."""
    reply = httpx.post(f"{proxy_url}/v1/chat/completions", content=raw, timeout=30)
    assert_clear(reply)


HEADER_NAMES = st.sampled_from(
    [
        b"x-openclaw-failover-mode",
        b"x-openclaw-failover-deadline-ms",
        b"traceparent",
        b"tracestate",
        b"x-request-id",
        b"content-type",
        b"authorization",
        b"accept",
        b"content-length",
        b"transfer-encoding",
    ]
) | st.binary(min_size=1, max_size=12).filter(lambda b: b.isalnum())
HEADER_VALUES = st.binary(max_size=60).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
)


def raw_post(url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes, bytes]:
    """Send one request byte for byte (no client-side header checks); (status, head, body)."""
    host, port = url.removeprefix("http://").split(":")
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
    if not any(name.lower() == b"content-length" for name, _ in headers):
        head += b"content-length: %d\r\n" % len(body)
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    data = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + b"\r\n" + body)
        while chunk := sock.recv(65536):
            data += chunk
    top, _, rest = data.partition(b"\r\n\r\n")
    return int(top.split(b" ", 2)[1]), top, rest


@FUZZ
@given(headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5), stream=st.booleans())
def test_fuzzed_headers_never_draw_a_5xx(
    proxy_url: str, headers: list[tuple[bytes, bytes]], stream: bool
) -> None:
    """Any header bytes on a valid request (sent raw, so nothing is checked on the way) get an
    answer or a clear 4xx: from the proxy an OpenAI error object, from the HTTP layer its 400."""
    body = json.dumps(
        {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    ).encode()
    status, head, rest = raw_post(proxy_url, headers, body)
    assert status < 500, (head, rest[:300])
    if status >= 400 and b"x-request-id" in head.lower():  # the proxy's own rejection
        text = rest.split(b"\r\n", 1)[-1] if b"chunked" in head.lower() else rest
        error = json.loads(text.strip().split(b"\r\n")[0])["error"]
        assert error["message"]


# ----------------------------------------------------------------------------- slow loris


def test_slow_loris_clients_do_not_stop_normal_requests(tmp_path: Path) -> None:
    """20 clients trickling a request at 1 byte/s hold connections open while 50 concurrent
    normal requests (200 in all) still complete, each within its 20 s deadline."""
    with FakeOpenAIServer(models=["m1"]) as fake:
        doc = {
            "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
            "providers": {"p1": {"auth": [{"key": "sk-FAKE-loris"}]}},
            "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": fake.url}}},
            "failover": {"state": {"backend": "memory"}},
        }
        path = tmp_path / "failover.json"
        path.write_text(json.dumps(doc))
        env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state")}
        table = load_route_table(str(path), kind="standalone", environ=env).table
        assert table is not None
        with running_server(create_app(table, reload_poll_s=3600)) as url:
            latencies = loris_trial(url, loris=20, requests=200, concurrency=50)
    assert len(latencies) == 200
    assert len(fake.chat_requests) == 200
