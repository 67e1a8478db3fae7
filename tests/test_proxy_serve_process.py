"""`openclaw-failover serve` as a real process: answers with headers, reloads on SIGHUP."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from openclaw_failover.testing import FakeOpenAIServer, tool_reply
from tests.fixtures.chaos import CLIENT_KEEPALIVE_S
from tests.fixtures.proxy import serve_process

HI = [{"role": "user", "content": "hi"}]


def config(fake: FakeOpenAIServer, primary: str = "p1/m1") -> str:
    return json.dumps(
        {
            "agents": {"defaults": {"model": {"primary": primary, "fallbacks": []}}},
            "providers": {"p1": {"auth": [{"key": "${P1_KEY}"}]}},
            "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": fake.url}}},
            "failover": {"state": {"backend": "memory"}, "proxy": {"port": 0}},
        }
    )


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer(models=["m1", "m2"]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def served(tmp_path: Path, fake: FakeOpenAIServer) -> Iterator[tuple[str, Path, Any]]:
    path = tmp_path / "failover.json"
    path.write_text(config(fake))
    env = {
        "HOME": str(tmp_path),
        "OPENCLAW_STATE_DIR": str(tmp_path / "state"),
        "P1_KEY": "sk-FAKE-process",
    }
    with serve_process(str(path), env) as served:
        yield served.url, path, served.proc
    assert "sk-FAKE-process" not in "".join(served.lines)


def test_process_answers_sdk_with_tools_and_headers(served, fake) -> None:  # type: ignore[no-untyped-def]
    """The served proxy passes a tool call through to the openai SDK, saying who answered."""
    url, _, _ = served
    fake.script(tool_reply("read", {"path": "README.md"}))
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=15)
    tools = [{"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}}]
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=HI,
        tools=tools,  # type: ignore[arg-type]
    )
    message = raw.parse().choices[0].message
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.function.name == "read"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"path": "README.md"}  # type: ignore[union-attr]
    assert raw.headers["x-openclaw-failover-provider"] == "p1"
    assert raw.headers["x-openclaw-failover-profile"] == "p1:0"
    assert fake.chat_requests[0].json["tools"] == tools


def test_sighup_reloads_and_readyz_shows_versions(served, fake) -> None:  # type: ignore[no-untyped-def]
    """SIGHUP loads the edited file; /readyz shows the new version, loaded and on disk."""
    url, path, proc = served
    before = httpx.get(f"{url}/readyz").json()["route_version"]
    assert before["loaded"] == before["on_disk"]
    path.write_text(config(fake, primary="p1/m2"))
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    after = before
    while time.monotonic() < deadline and after["loaded"] == before["loaded"]:
        time.sleep(0.05)
        after = httpx.get(f"{url}/readyz").json()["route_version"]
    assert after["loaded"] != before["loaded"]
    assert after["loaded"] == after["on_disk"]
    answer = httpx.post(f"{url}/v1/chat/completions", json={"model": "auto", "messages": HI})
    assert answer.json()["model"] == "m2"


def post_chat(sock: socket.socket) -> tuple[bytes, bytes]:
    """Send one non-streamed chat request on ``sock``; (status line, body) of the reply, or
    (b"", b"") when the proxy had closed the connection."""
    body = json.dumps({"model": "auto", "messages": HI}).encode()
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    )
    try:
        sock.sendall(head + body)
    except OSError:
        return b"", b""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            more = sock.recv(65536)
        except OSError:  # a reset: the proxy closed it with our request unread
            more = b""
        if not more:
            return b"", b""
        data += more
    header, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in header.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return header.split(b"\r\n", 1)[0], rest


@pytest.mark.slow
def test_idle_keep_alive_connection_outlives_the_clients_expiry(served) -> None:  # type: ignore[no-untyped-def]
    """A keep-alive connection left idle a second past the client's own expiry still takes
    the next request: the client retires idle connections, never the proxy just as the
    client reuses one (uvicorn's default 5 s did, and the request was lost unseen)."""
    url, _, _ = served
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        status, body = post_chat(sock)
        assert status.endswith(b" 200 OK"), (status, body)
        time.sleep(CLIENT_KEEPALIVE_S + 1.0)
        status, body = post_chat(sock)
    assert status.endswith(b" 200 OK"), "the proxy closed an idle keep-alive connection"
    assert json.loads(body)["choices"][0]["message"]["content"]
