"""No key or token anywhere: the commands ``tests/test_ops_secrets.py`` does not run
(validate, migrate, install --dry-run, service install --dry-run, serve), and the proxy
itself: its responses and error bodies, its log, /metrics, /readyz, the audit and the state.

Keys and the proxy token are distinctive fakes; one upstream echoes the key it was sent in its
401 body, as real providers do. Files the proxy writes are 0600 in 0700 folders.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openclaw_failover.testing import FakeOpenAIServer, HttpError
from tests.fixtures.proxy import serve_process
from tests.test_ops_secrets import ALL_KEYS, _run, echo_url, home  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

TOKEN = "tok-proxy-SECRET-6b0e2c91"
OPENCLAW_KEY = "sk-inline-openclaw-SECRET-3a7c"


def assert_clean(where: str, text: str | bytes) -> None:
    """None of the fake keys nor the token is in ``text``."""
    data = text.encode() if isinstance(text, str) else text
    for secret in (*ALL_KEYS, TOKEN, OPENCLAW_KEY):
        assert secret.encode() not in data, f"{where} shows a secret"


def openclaw_home(root: Path) -> tuple[Path, dict[str, str]]:
    """OpenClaw's own file with an inline key, a ``${VAR}`` key and the root ``providers``
    block OpenClaw refuses (what ``migrate`` moves into the plugin block)."""
    state = root / "ochome"
    state.mkdir()
    config = state / "openclaw.json"
    config.write_text(
        json.dumps(
            {
                "agents": {"defaults": {"model": {"primary": "acme/m1", "fallbacks": []}}},
                "models": {
                    "providers": {
                        "acme": {
                            "api": "openai-completions",
                            "baseUrl": "http://127.0.0.1:9/v1",
                            "apiKey": OPENCLAW_KEY,
                            "models": [{"id": "m1", "name": "m1"}],
                        }
                    }
                },
                "providers": {"acme": {"auth": [{"key": "${SPARE_KEY}"}]}},
                "gateway": {"mode": "local"},
            }
        )
    )
    return config, {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(config)}


def test_no_secret_in_the_other_commands(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:  # noqa: F811
    """validate, migrate (dry and written), install --dry-run, service install --dry-run and
    a refused serve print no key and no token, on both kinds of config file."""
    standalone, env = home
    config, oc_env = openclaw_home(tmp_path)
    env = {**env, **oc_env, "OPENCLAW_FAILOVER_TOKEN": TOKEN}
    runs = {
        "validate": ["validate", "--config", str(standalone)],
        "validate --json": ["validate", "--config", str(standalone), "--json"],
        "validate openclaw": ["validate", "--config", str(config), "--json"],
        "migrate": ["migrate", "--config", str(config)],
        "migrate --json": ["migrate", "--config", str(config), "--json"],
        "migrate --write": ["migrate", "--config", str(config), "--write"],
        "install --dry-run": ["install", "--config", str(config), "--dry-run", "--no-openclaw-cli"],
        "service": ["service", "install", "--systemd", "--dry-run", "--config", str(standalone)],
        "serve refused": ["serve", "--config", str(standalone), "--host", "0.0.0.0"],
    }
    outputs = {name: _run(args, env) for name, args in runs.items()}
    assert "refused" in outputs["serve refused"]
    assert "providers" in outputs["migrate"]  # it found the root block to move
    assert "plugins" in config.read_text()  # --write moved it into the plugin block
    for name, output in outputs.items():
        assert_clean(name, output)


@pytest.fixture
def answering() -> Iterator[FakeOpenAIServer]:
    """A second upstream that answers."""
    with FakeOpenAIServer(models=["m2"]) as fake:
        yield fake


def test_no_secret_anywhere_the_proxy_writes(
    tmp_path: Path,
    echo_url: str,  # noqa: F811
    answering: FakeOpenAIServer,
) -> None:
    """serve with a token, one upstream echoing keys in its 401s and one answering: answers,
    streams, a hard stop's attempt list, rejections, /metrics, /readyz, the log, the audit
    and the state hold no key or token; its files are 0600 and its folders 0700."""
    state = tmp_path / "state"
    doc = {
        "agents": {"defaults": {"model": {"primary": "acme/m1", "fallbacks": ["two/m2"]}}},
        "models": {
            "providers": {
                "acme": {"api": "openai-completions", "baseUrl": echo_url},
                "two": {"api": "openai-completions", "baseUrl": answering.url},
            }
        },
        "providers": {
            "acme": {"auth": [{"key": "${SPARE_KEY}"}, {"key": ALL_KEYS[0], "profile": "x"}]},
            "two": {"auth": [{"key": "${OPENAI_API_KEY}"}]},
        },
        "failover": {
            "state": {"backend": "file", "directory": str(state / "failover")},
            "audit": {"path": str(state / "failover" / "audit.jsonl")},
            "proxy": {"port": 0, "token": "${OPENCLAW_FAILOVER_TOKEN}"},
        },
    }
    config = tmp_path / "failover.json"
    config.write_text(json.dumps(doc))
    env = {
        "HOME": str(tmp_path),
        "OPENCLAW_STATE_DIR": str(state),
        "SPARE_KEY": ALL_KEYS[1],
        "OPENAI_API_KEY": ALL_KEYS[2],
        "OPENCLAW_FAILOVER_TOKEN": TOKEN,
    }
    auth = {"authorization": f"Bearer {TOKEN}"}
    hi = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    with serve_process(str(config), env) as served:
        chat = f"{served.url}/v1/chat/completions"
        replies = [
            httpx.post(chat, json=hi, headers=auth, timeout=30),
            httpx.post(chat, json={**hi, "stream": True}, headers=auth, timeout=30),
            httpx.post(chat, json=hi, timeout=30),  # no token
            httpx.post(chat, json=hi, headers={"authorization": "Bearer wrong"}, timeout=30),
            httpx.post(chat, content=b"{not json", headers=auth, timeout=30),
            httpx.post(chat, json={**hi, "model": "nope"}, headers=auth, timeout=30),
            httpx.get(f"{served.url}/metrics", headers=auth, timeout=30),
            httpx.get(f"{served.url}/readyz", headers=auth, timeout=30),
            httpx.get(f"{served.url}/v1/models", headers=auth, timeout=30),
        ]
        answering.always(HttpError(401))
        replies.append(httpx.post(chat, json=hi, headers=auth, timeout=30))  # the hard stop
    assert replies[0].status_code == 200
    assert replies[2].status_code == replies[3].status_code == 401
    assert replies[-1].status_code == 429
    reasons = {a["reason"] for a in replies[-1].json()["error"]["failover"]["attempts"]}
    assert "auth" in reasons  # the echoing upstream was reached with the keys
    for n, reply in enumerate(replies):
        assert_clean(f"reply {n}", json.dumps(dict(reply.headers)) + reply.text)
    assert_clean("the proxy's log", "".join(served.lines))
    written = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in written)
    assert any(p.name == "state.journal" for p in written)
    for path in written:
        assert_clean(str(path), path.read_bytes())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in [p for p in state.rglob("*") if p.is_dir()]:
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
