"""Every audit line a `serve` process writes names that process (``instance``: host and pid),
so the lines of several gateways sharing an audit file or a Redis store can be told apart."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx

from openclaw_failover.testing import FakeOpenAIServer
from tests.fixtures.proxy import serve_process


def test_serve_stamps_its_audit_lines_with_host_and_pid(tmp_path: Path) -> None:
    fake = FakeOpenAIServer(models=["m1"]).start()
    audit = tmp_path / "audit.jsonl"
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
        "providers": {"p1": {"auth": [{"key": "${P1_KEY}"}]}},
        "models": {"providers": {"p1": {"api": "openai-completions", "baseUrl": fake.url}}},
        "failover": {
            "state": {"backend": "memory"},
            "proxy": {"port": 0},
            "audit": {"path": str(audit)},
        },
    }
    path = tmp_path / "failover.json"
    path.write_text(json.dumps(doc))
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "st"), "P1_KEY": "sk-x1"}
    try:
        with serve_process(str(path), env) as served:
            body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
            reply = httpx.post(f"{served.url}/v1/chat/completions", json=body, timeout=15)
            assert reply.status_code == 200, reply.text
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and '"outcome"' not in _read(audit):
                time.sleep(0.05)
            pid = served.proc.pid
    finally:
        fake.stop()
    lines = [json.loads(line) for line in _read(audit).splitlines()]
    events = {line["event"] for line in lines}
    assert {"attempt", "outcome"} <= events
    assert {line.get("instance") for line in lines} == {f"{socket.gethostname()}:{pid}"}


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
