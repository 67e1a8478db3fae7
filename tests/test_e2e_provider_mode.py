"""End to end with real OpenClaw 2026.9.6 in provider mode: install, then real agent turns.

OpenClaw starts the proxy itself through ``models.providers.failover.localService``; the fakes
are the only upstreams. Each test prints the turn's wall time (see the issue's note).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover.testing import (
    Answer,
    FakeOpenAIServer,
    HangBeforeHeaders,
    HttpError,
    Ok,
)
from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry

pytestmark = pytest.mark.openclaw_e2e

PRIMARY_KEY = "sk-e2e-primary-key-0001"
BACKUP_KEY = "sk-e2e-backup-key-0002"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _kill_processes_mentioning(needle: str) -> None:
    """Stop the proxy OpenClaw started for this test (its argv holds our unique config path)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if needle in argv and "openclaw_failover" in argv:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGTERM)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeOpenAIServer, FakeOpenAIServer]]:
    """A primary and a backup fake provider on loopback."""
    primary = FakeOpenAIServer(hang_limit_s=20.0)
    backup = FakeOpenAIServer(default=Ok(Answer(text="Hello from the backup provider.")))
    with primary, backup:
        yield primary, backup


@pytest.fixture
def installed(
    openclaw_home: OpenClawHome, fakes: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> Iterator[OpenClawHome]:
    """An OpenClaw home with two fake providers and openclaw-failover installed (provider mode)."""
    primary, backup = fakes
    providers = {
        "fakeprimary": fake_provider_entry(primary.url, api_key=PRIMARY_KEY),
        "fakebackup": fake_provider_entry(backup.url, api_key=BACKUP_KEY),
    }
    config = openclaw_home.base_config(
        providers, primary="fakeprimary/fake-model", fallbacks=["fakebackup/fake-model"]
    )
    openclaw_home.write_config(config)
    argv = [sys.executable, "-m", "openclaw_failover", "install", "--port", str(_free_port())]
    argv += ["--config", str(openclaw_home.config_path)]
    argv += ["--state-dir", str(openclaw_home.state_dir)]
    argv += ["--workspace", str(openclaw_home.workspace)]
    done = subprocess.run(
        argv, env=openclaw_home.env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    try:
        yield openclaw_home
    finally:
        _kill_processes_mentioning(str(openclaw_home.config_path))


def _edit(home: OpenClawHome, change: Any) -> None:
    doc = home.read_config()
    change(doc)
    home.write_config(doc)


def _audit(home: OpenClawHome) -> list[dict[str, Any]]:
    path = home.state_dir / "failover" / "audit.jsonl"
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            break
        time.sleep(0.1)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def test_installed_config_is_accepted_by_openclaw(installed: OpenClawHome) -> None:
    """After install, `openclaw config validate` accepts the file."""
    result = installed.config_validate()
    assert result.rc == 0, result.stdout + result.stderr
    doc = installed.read_config()
    assert doc["agents"]["defaults"]["model"] == {"primary": "failover/auto", "fallbacks": []}


def test_primary_500_is_answered_by_the_fallback(
    installed: OpenClawHome, fakes: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    """A primary answering 500: the turn succeeds from the fallback, <= 2 requests per key."""
    primary, backup = fakes
    primary.always(HttpError(500))
    turn = installed.run_turn("hi", "e2e-500")
    print(f"\nprovider mode, primary 500: turn wall {turn.wall_s:.1f} s")
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "backup provider" in turn.text
    assert 1 <= len(primary.chat_requests) <= 2
    assert len(backup.chat_requests) >= 1


def test_primary_429_short_retry_after_is_answered_by_the_fallback(
    installed: OpenClawHome, fakes: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    """A primary answering 429 with Retry-After: 1: the fallback answers, <= 2 primary requests."""
    primary, _ = fakes
    primary.always(HttpError(429, retry_after=1))
    turn = installed.run_turn("hi", "e2e-429")
    print(f"\nprovider mode, primary 429 (Retry-After 1): turn wall {turn.wall_s:.1f} s")
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "backup provider" in turn.text
    assert 1 <= len(primary.chat_requests) <= 2


def test_silent_primary_falls_back_at_the_first_token_deadline(
    installed: OpenClawHome, fakes: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    """A silent primary: the fallback answers once the (header-set) first-token deadline passes."""
    primary, _ = fakes
    primary.always(HangBeforeHeaders())

    def short_deadline(doc: dict[str, Any]) -> None:
        provider = doc["models"]["providers"]["failover"]
        provider["headers"] = {"x-openclaw-failover-deadline-ms": "2000"}

    _edit(installed, short_deadline)
    turn = installed.run_turn("hi", "e2e-silent")
    print(f"\nprovider mode, silent primary (2 s deadline): turn wall {turn.wall_s:.1f} s")
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "backup provider" in turn.text
    timeouts = [
        r for r in _audit(installed) if r["event"] == "attempt" and r["reason"] == "timeout"
    ]
    assert timeouts, "the silent attempt is audited as a timeout"
    assert all(1.9 <= r["latency_ms"] / 1000 <= 4.0 for r in timeouts)


def test_everything_down_ends_the_turn_at_once_and_the_next_turn_reaches_the_proxy(
    installed: OpenClawHome, fakes: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    """All candidates down: the turn ends <= 5 s after the hard stop; the next turn is served."""
    primary, backup = fakes
    primary.always(HttpError(500))
    backup.always(HttpError(500))
    turn = installed.run_turn("hi", "e2e-down")
    ended_at = time.time()
    output = turn.stdout + turn.stderr
    print(f"\nprovider mode, everything down: turn wall {turn.wall_s:.1f} s")
    stops = [r for r in _audit(installed) if r.get("outcome") == "hard_stop"]
    assert len(stops) == 1, output[-2000:]
    lag_s = ended_at - stops[0]["ts"]
    print(f"provider mode, everything down: turn ended {lag_s:.1f} s after the hard stop")
    assert lag_s <= 5.0
    assert "openclaw-failover" in output
    assert "every candidate" in output

    second = installed.run_turn("hi again", "e2e-down-2")
    outcomes = [r for r in _audit(installed) if r["event"] == "outcome"]
    assert len(outcomes) == 2, second.stderr[-2000:]
