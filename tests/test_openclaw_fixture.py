"""Smoke tests of the real-OpenClaw fixture: config validation and one turn against a fake upstream.

The fake here is a minimal stdlib OpenAI-compatible server on 127.0.0.1 (ephemeral port), kept
inside this test module so the fixture can be checked without the package's own fakes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry, parse_json_output

pytestmark = [pytest.mark.openclaw_e2e, pytest.mark.slow]


class _Fake(ThreadingHTTPServer):
    daemon_threads = True
    reply = "Hello from the fixture fake"
    status = 200

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: _Fake

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        del format, args

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"path": self.path, "body": body})
        if self.server.status != 200:
            data = json.dumps({"error": {"message": "fake failure", "type": "server_error"}})
            self.send_response(self.server.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data.encode())
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        base = {"id": "c1", "object": "chat.completion.chunk", "model": body.get("model")}
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
            {**base, "choices": [{"index": 0, "delta": {"content": self.server.reply}}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {
                **base,
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
            },
        ]
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


@pytest.fixture
def fake_upstream() -> Iterator[_Fake]:
    server = _Fake()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_parse_json_output_takes_last_document() -> None:
    """Leading log lines before the JSON document do not stop parsing."""
    assert parse_json_output('log line\n{"a": 1}\n') == {"a": 1}
    with pytest.raises(ValueError, match="no JSON"):
        parse_json_output("only logs")


def test_config_validate_accepts_fake_provider_and_rejects_root_providers(
    openclaw_home: OpenClawHome,
) -> None:
    """OpenClaw accepts a fake-provider config and refuses a root `providers` key (design fact)."""
    config = openclaw_home.base_config(
        {"fakeprimary": fake_provider_entry("http://127.0.0.1:9/v1")},
        primary="fakeprimary/fake-model",
    )
    openclaw_home.write_config(config)
    ok = openclaw_home.config_validate()
    assert ok.rc == 0, ok.stderr
    assert "valid" in (ok.stdout + ok.stderr).lower()

    openclaw_home.write_config({**config, "providers": {"x": {}}})
    bad = openclaw_home.config_validate()
    assert bad.rc != 0
    assert "providers" in (bad.stdout + bad.stderr)


def test_one_turn_answers_from_fake_upstream(
    openclaw_home: OpenClawHome, fake_upstream: _Fake
) -> None:
    """One `agent --local --json` turn reaches the fake and returns its reply and trace."""
    openclaw_home.write_config(
        openclaw_home.base_config(
            {"fakeprimary": fake_provider_entry(fake_upstream.url)},
            primary="fakeprimary/fake-model",
        )
    )
    turn = openclaw_home.run_turn("hi", "fixture-smoke")
    print(f"turn wall time: {turn.wall_s:.1f}s")
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "Hello from the fixture fake" in turn.text
    assert turn.execution_trace.get("winnerProvider") == "fakeprimary"
    assert len(fake_upstream.requests) == 1
    body = fake_upstream.requests[0]["body"]
    assert body["stream"] is True
    assert body["model"] == "fake-model"
