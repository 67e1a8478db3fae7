"""`cooldowns clear` against a running `serve` process: the next request uses the cleared key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openclaw_failover.testing import FakeOpenAIServer, HttpError
from tests.fixtures.proxy import serve_process

pytestmark = pytest.mark.slow

HI = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
KEYS = {"P1_KEY": "sk-FAKE-clear-live-p1", "P2_KEY": "sk-FAKE-clear-live-p2"}


@pytest.fixture
def fakes() -> Iterator[tuple[FakeOpenAIServer, FakeOpenAIServer]]:
    """A primary and a fallback upstream on loopback."""
    p1 = FakeOpenAIServer(models=["m1"]).start()
    p2 = FakeOpenAIServer(models=["m2"]).start()
    try:
        yield p1, p2
    finally:
        p1.stop()
        p2.stop()


def _config(tmp_path: Path, p1: FakeOpenAIServer, p2: FakeOpenAIServer) -> Path:
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": ["p2/m2"]}}},
        "providers": {
            "p1": {"auth": [{"key": "${P1_KEY}", "profile": "main"}]},
            "p2": {"auth": [{"key": "${P2_KEY}"}]},
        },
        "models": {
            "providers": {
                "p1": {"api": "openai-completions", "baseUrl": p1.url},
                "p2": {"api": "openai-completions", "baseUrl": p2.url},
            }
        },
        "failover": {
            "state": {"backend": "file", "directory": str(tmp_path / "shared-state")},
            "audit": {"path": str(tmp_path / "audit.jsonl")},
            "proxy": {"port": 0},
        },
    }
    path = tmp_path / "failover.json"
    path.write_text(json.dumps(doc))
    return path


def _provider(url: str) -> str:
    reply = httpx.post(f"{url}/v1/chat/completions", json=HI, timeout=15)
    assert reply.status_code == 200, reply.text[:300]
    return reply.headers["x-openclaw-failover-provider"]


def test_clear_takes_effect_on_the_running_proxys_next_request(
    tmp_path: Path, fakes: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    """A 15-minute cooldown on p1 keeps traffic on p2 until `cooldowns clear --provider p1`;
    the very next request goes to p1 again, and the clear is audited as manual."""
    p1, _ = fakes
    path = _config(tmp_path, *fakes)
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "oc"), **KEYS}
    with serve_process(str(path), env) as served:
        p1.always(HttpError(429, retry_after=900))
        assert _provider(served.url) == "p2"
        p1.reset_script()
        assert _provider(served.url) == "p2"  # still cooling: p1 is skipped
        assert len(p1.chat_requests) == 1
        clear = ["cooldowns", "clear", "--provider", "p1", "--yes", "--config", str(path)]
        done = subprocess.run(
            [sys.executable, "-m", "openclaw_failover", *clear],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert _provider(served.url) == "p1"
    output = done.stdout + done.stderr + "".join(served.lines)
    assert not any(key in output for key in KEYS.values())
    events = [json.loads(x)["event"] for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert "manual_intervention" in events
