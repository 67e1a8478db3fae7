"""Real OpenClaw 2026.9.6 writes its own cooldown; ``status`` shows it and never the key.

An auth profile is made with ``openclaw models auth paste-api-key``, one turn runs against a
primary answering 429 (``Retry-After: 120``, so OpenClaw falls back at once), and then our
``status --json`` and the table are read from OpenClaw's SQLite state, read-only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry

pytestmark = [pytest.mark.openclaw_e2e, pytest.mark.slow]

STORE_KEY = "sk-e2e-openclaw-store-DISTINCTIVE-5e1f"
ENV_KEY = "sk-e2e-proxy-env-DISTINCTIVE-77aa"


class _Fake(ThreadingHTTPServer):
    """A stdlib OpenAI-compatible upstream: 429 with Retry-After 120, or a short answer."""

    daemon_threads = True

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.hits = 0

    @property
    def url(self) -> str:
        """The base URL OpenClaw is given."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: _Fake

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        del format, args

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.hits += 1
        if self.server.status == 429:
            data = b'{"error": {"message": "rate limited", "type": "rate_limit_error"}}'
            self.send_response(429)
            self.send_header("retry-after", "120")
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for delta in ({"role": "assistant", "content": ""}, {"content": "backup says hi"}):
            chunk = {
                "id": "c",
                "object": "chat.completion.chunk",
                "model": "fake-model",
                "choices": [{"index": 0, "delta": delta}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def upstreams() -> Iterator[tuple[_Fake, _Fake]]:
    """The failing primary and the healthy backup, on ephemeral loopback ports."""
    servers = (_Fake(429), _Fake(200))
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}) for s in servers
    ]
    for thread in threads:
        thread.start()
    yield servers
    for server, thread in zip(servers, threads, strict=True):
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _paste_key(home: OpenClawHome) -> None:
    proc = subprocess.run(
        [
            str(home.bin_dir / "openclaw"),
            "models",
            "auth",
            "paste-api-key",
            "--provider",
            "fakeprimary",
        ],
        input=STORE_KEY + "\n",
        env=home.env,
        cwd=home.workspace,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def _ours(home: OpenClawHome, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**home.env, "FAKEPRIMARY_API_KEY": ENV_KEY, "FAKEBACKUP_API_KEY": ENV_KEY}
    return subprocess.run(
        [sys.executable, "-m", "openclaw_failover", *args],
        env=env,
        cwd=home.workspace,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_status_shows_openclaws_own_cooldown_and_never_the_key(
    openclaw_home: OpenClawHome, upstreams: tuple[_Fake, _Fake]
) -> None:
    """After a real 429 turn, status --json lists OpenClaw's rate_limit cooldown for the pasted
    profile, names the SQLite file it read, and neither key appears in any output."""
    primary, backup = upstreams
    providers = {
        "fakeprimary": fake_provider_entry(primary.url, api_key="sk-placeholder"),
        "fakebackup": fake_provider_entry(backup.url, api_key="sk-backup-inline"),
    }
    openclaw_home.write_config(
        openclaw_home.base_config(
            providers, primary="fakeprimary/fake-model", fallbacks=["fakebackup/fake-model"]
        )
    )
    _paste_key(openclaw_home)
    turn = openclaw_home.run_turn("hi", "e2e-status")
    assert turn.rc == 0, turn.stderr[-2000:]
    assert primary.hits >= 1
    assert backup.hits >= 1
    db = openclaw_home.state_dir / "state" / "openclaw.sqlite"
    before = db.read_bytes()

    # OpenClaw's own file now says apiKey "fakeprimary:manual": the proxy has no key for it, so
    # the config is refused (today); status says so and still shows OpenClaw's cooldown.
    refused = _ours(openclaw_home, "status", "--json")
    assert refused.returncode in (0, 2), refused.stderr[-2000:]
    if refused.returncode == 2:
        rules = {p["rule"] for p in json.loads(refused.stdout)["problems"]}
        assert any(rule.startswith("auth.") for rule in rules)
    assert "fakeprimary:manual" in refused.stdout
    # A failover file that gives the proxy its own key (from the environment) works fully.
    standalone = openclaw_home.root / "failover.json5"
    standalone.write_text(
        json.dumps(
            {
                "agents": {
                    "defaults": {
                        "model": {
                            "primary": "fakeprimary/fake-model",
                            "fallbacks": ["fakebackup/fake-model"],
                        }
                    }
                },
                "models": {
                    "providers": {
                        "fakeprimary": {"baseUrl": primary.url, "api": "openai-completions"},
                        "fakebackup": {"baseUrl": backup.url, "api": "openai-completions"},
                    }
                },
                "providers": {
                    "fakeprimary": {"auth": [{"key": "${FAKEPRIMARY_API_KEY}"}]},
                    "fakebackup": {"auth": [{"key": "${FAKEBACKUP_API_KEY}"}]},
                },
            }
        )
    )
    result = _ours(openclaw_home, "status", "--json", "--config", str(standalone))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    cooldowns = {c["profile"]: c for c in data["openclaw"]["cooldowns"]}
    assert str(db) in data["openclaw"]["read"]
    mine = cooldowns["fakeprimary:manual"]
    assert (mine["kind"], mine["reason"], mine["active"]) == ("cooldown", "rate_limit", True)
    table = _ours(openclaw_home, "status", "--config", str(standalone))
    assert table.returncode == 0, table.stderr[-2000:]
    assert "fakeprimary:manual" in table.stdout
    for output in (
        refused.stdout,
        refused.stderr,
        result.stdout,
        result.stderr,
        table.stdout,
        table.stderr,
    ):
        assert STORE_KEY not in output
        assert ENV_KEY not in output
    assert db.read_bytes() == before
    assert os.environ.get("OPENCLAW_STATE_DIR") != str(openclaw_home.state_dir)
