"""No key in any output: status, probe, doctor, report and the demo with distinctive fake keys.

Keys sit in the config (inline), in the environment (``${VAR}`` and ``<PROVIDER>_API_KEY``) and
in OpenClaw's own store (2026.9.6 SQLite ``authProfiles.store`` and a legacy JSON file). The
probe's upstream echoes the key it was sent in its 401 body, as real providers do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .test_status_openclaw_state import seed_2026_9_6, seed_legacy

CONFIG_KEY = "sk-cfg-SECRET-4f1a9b3c"
ENV_VAR_KEY = "sk-envvar-SECRET-8c2d7e11"
ENV_PROVIDER_KEY = "sk-envprov-SECRET-19fe0a2b"
STORE_KEY = "sk-openclaw-store-DISTINCTIVE-7d1f"  # what seed_2026_9_6 / seed_legacy write
ALL_KEYS = (CONFIG_KEY, ENV_VAR_KEY, ENV_PROVIDER_KEY, STORE_KEY)


class _Echo(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)


class _EchoHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        del format, args

    def _reply(self, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        key = self.headers.get("authorization", "")
        sent = "; ".join(f"{name}: {value}" for name, value in self.headers.items())
        message = f"Incorrect API key provided: {key} (headers sent: {sent})"
        self._reply(401, {"error": {"message": message}})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.do_GET()


@pytest.fixture
def echo_url() -> Iterator[str]:
    """An upstream on loopback that puts the caller's key, and every header it was sent, in its
    error body."""
    server = _Echo()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def home(tmp_path: Path, echo_url: str) -> tuple[Path, dict[str, str]]:
    """A standalone config with all three kinds of key, and an OpenClaw state dir with its store."""
    state = tmp_path / "oc"
    seed_2026_9_6(state)
    seed_legacy(state)
    config = tmp_path / "failover.json5"
    api = {"baseUrl": echo_url, "api": "openai-completions"}
    document = {
        "agents": {"defaults": {"model": {"primary": "acme/m1", "fallbacks": ["openai/m2"]}}},
        "models": {"providers": {"acme": api, "openai": api}},
        "providers": {
            "acme": {
                "auth": [
                    {"key": CONFIG_KEY, "profile": "main"},
                    {"key": "${SPARE_KEY}", "profile": "spare"},
                ]
            }
        },
        "failover": {
            "state": {"backend": "file"},
            "proxy": {"port": 9},
            "audit": {"path": str(tmp_path / "audit.jsonl")},
        },
    }
    config.write_text(json.dumps(document))
    env = {
        **os.environ,
        "OPENCLAW_STATE_DIR": str(state),
        "HOME": str(tmp_path),
        "SPARE_KEY": ENV_VAR_KEY,
        "OPENAI_API_KEY": ENV_PROVIDER_KEY,
        "COLUMNS": "200",
    }
    env.pop("OPENCLAW_CONFIG_PATH", None)
    return config, env


def _run(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "openclaw_failover", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-3000:]
    return output


def test_no_key_in_any_ops_output(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """status (table and JSON), probe (against an upstream echoing keys), doctor and report
    print no key from the config, the environment or OpenClaw's store."""
    config, env = home
    outputs = {
        "status": _run(["status", "--config", str(config)], env),
        "status --json": _run(["status", "--config", str(config), "--json"], env),
        "probe": _run(["probe", "--config", str(config)], env),
        "probe --json": _run(["probe", "--config", str(config), "--json"], env),
        "doctor": _run(["doctor", "--config", str(config)], env),
        "doctor --json": _run(["doctor", "--config", str(config), "--json"], env),
        "report --json": _run(["report", "--config", str(config), "--json"], env),
        "report": _run(["report", "--config", str(config), "--plot", str(tmp_path / "p.png")], env),
        "clear": _run(["cooldowns", "clear", "--all", "--yes", "--config", str(config)], env),
    }
    assert "fakeprimary:manual" in outputs["status"]  # OpenClaw's store was really read
    assert "auth" in outputs["probe --json"]  # the probe really reached the echoing upstream
    for name, output in outputs.items():
        for key in ALL_KEYS:
            assert key not in output, f"{name} printed a key"
    for path in tmp_path.rglob("*"):
        if path.is_file() and "oc" not in path.relative_to(tmp_path).parts[:1] and path != config:
            assert not any(k.encode() in path.read_bytes() for k in ALL_KEYS), path


@pytest.mark.slow
def test_no_key_in_demo_output(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The demo, run with those keys in the environment, prints none of them."""
    _, env = home
    output = _run(["demo", "--duration", "4", "--local", "fake", "--out", str(tmp_path / "d")], env)
    assert "plot:" in output
    for key in ALL_KEYS:
        assert key not in output
