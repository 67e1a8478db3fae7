"""`openclaw-failover sidecar` as the bridge runs it: a child speaking JSON lines on stdio."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest

CONFIG = {
    "models": {
        "mode": "replace",
        "providers": {
            "fakeprimary": {
                "baseUrl": "http://127.0.0.1:9/v1",
                "apiKey": "${FAKEPRIMARY_API_KEY}",
                "api": "openai-completions",
                "models": [{"id": "fake-model"}],
            },
            "localfake": {
                "baseUrl": "http://127.0.0.1:8",
                "apiKey": "ollama-local",
                "api": "ollama",
                "models": [{"id": "qwen3:8b"}],
            },
        },
    },
    "agents": {
        "defaults": {
            "model": {"primary": "fakeprimary/fake-model", "fallbacks": ["localfake/qwen3:8b"]}
        }
    },
    "plugins": {"entries": {"openclaw-failover": {"enabled": True, "config": {"mode": "plugin"}}}},
}


def _read_reply(stream: IO[str], deadline_s: float = 20.0) -> dict[str, Any]:
    """One reply line, or fail after ``deadline_s`` (the child is killed by the fixture)."""
    start = time.monotonic()
    line = stream.readline()
    assert line, "sidecar closed its stdout"
    assert time.monotonic() - start < deadline_s
    reply: dict[str, Any] = json.loads(line)
    return reply


@pytest.fixture
def sidecar(tmp_path: Path) -> Any:
    """The sidecar child for an OpenClaw home in ``tmp_path``; killed if a test leaves it."""
    (tmp_path / "openclaw.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OPENCLAW_STATE_DIR": str(tmp_path),
        "OPENCLAW_CONFIG_PATH": str(tmp_path / "openclaw.json"),
        "FAKEPRIMARY_API_KEY": "sk-test-primary",
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw_failover", "sidecar"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield proc, started
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_sidecar_says_hello_answers_and_exits_at_eof(sidecar: Any, tmp_path: Path) -> None:
    """Hello with the policy first, then answers per request; EOF on stdin ends it cleanly."""
    proc, started = sidecar
    hello = _read_reply(proc.stdout)
    print(f"sidecar ready in {time.monotonic() - started:.2f}s")
    assert hello["id"] == 0
    assert hello["result"]["mode"] == "plugin"
    assert hello["result"]["policy"]["localProviders"] == ["localfake"]
    policy_file = tmp_path / "failover" / "bridge-policy.json"
    assert json.loads(policy_file.read_text(encoding="utf-8")) == hello["result"]["policy"]

    event = {"toolName": "exec", "params": {"command": "ls"}, "runId": "r1", "toolCallId": "t"}
    requests = [
        {"id": 1, "op": "hook", "hook": "before_tool_call", "event": event, "ctx": {"runId": "r1"}},
        {"id": 2, "op": "tool", "name": "failover_status", "toolCallId": "t2", "params": {}},
    ]
    for request in requests:
        proc.stdin.write(json.dumps(request) + "\n")
    proc.stdin.flush()
    replies = {r["id"]: r for r in (_read_reply(proc.stdout), _read_reply(proc.stdout))}
    assert replies[1]["result"]["block"] is True
    status = replies[2]["result"]["content"][0]["text"]
    assert "fakeprimary/fake-model" in status
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    stderr = proc.stderr.read()
    assert "sk-test-primary" not in stderr + status + json.dumps(hello)
