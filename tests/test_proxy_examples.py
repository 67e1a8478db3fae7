"""Acceptance: `serve` on examples/failover.json5 (upstreams swapped for fakes) answers curl and
the openai SDK, with headers saying who answered, and falls back when the primary is limited."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import json5
import openai
import pytest

from openclaw_failover.testing import (
    FakeAnthropicServer,
    FakeOllamaServer,
    FakeOpenAIServer,
    HttpError,
)
from tests.fixtures.proxy import ServedProcess, serve_process

EXAMPLE = Path(__file__).parent.parent / "examples" / "failover.json5"
KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-FAKE-example-1",
    "ANTHROPIC_API_KEY_2": "sk-ant-FAKE-example-2",
    "OPENAI_API_KEY": "sk-oa-FAKE-example",
    "OPENROUTER_API_KEY": "sk-or-FAKE-example",
}
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def upstreams() -> Iterator[dict[str, Any]]:
    servers: dict[str, Any] = {
        "anthropic": FakeAnthropicServer(models=["claude-opus-4-6"]).start(),
        "openai": FakeOpenAIServer(models=["gpt-5.4-mini"]).start(),
        "openrouter": FakeOpenAIServer(models=["meta-llama/llama-3.3-70b-instruct"]).start(),
        "ollama": FakeOllamaServer(models=["qwen3:8b"]).start(),
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def served(tmp_path: Path, upstreams: dict[str, Any]) -> Iterator[ServedProcess]:
    doc = json5.loads(EXAMPLE.read_text())
    apis = {
        "anthropic": "anthropic-messages",
        "openai": "openai-completions",
        "openrouter": "openai-completions",
        "ollama": "ollama",
    }
    providers = doc["models"]["providers"]
    for pid, server in upstreams.items():
        providers.setdefault(pid, {}).update({"api": apis[pid], "baseUrl": server.url})
    doc["failover"]["state"] = {"backend": "memory"}
    doc["failover"]["proxy"]["port"] = 0
    path = tmp_path / "failover.json"
    path.write_text(json.dumps(doc))
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), **KEYS}
    with serve_process(str(path), env) as served:
        yield served
    for key in KEYS.values():
        assert key not in "".join(served.lines)


def test_curl_gets_answer_and_who_answered(served: ServedProcess) -> None:
    """curl POSTs a chat request and sees the answer and the x-openclaw-failover-* headers."""
    body = json.dumps({"model": "auto", "messages": HI})
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "-D",
            "-",
            "-H",
            "content-type: application/json",
            "-d",
            body,
            f"{served.url}/v1/chat/completions",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    head, _, payload = result.stdout.partition("\n\n")  # text mode turned CRLF into LF
    assert head.startswith("HTTP/1.1 200")
    headers = dict(line.split(":", 1) for line in head.splitlines()[1:])
    headers = {k: v.strip() for k, v in headers.items()}
    assert headers["x-openclaw-failover-provider"] == "anthropic"
    assert headers["x-openclaw-failover-profile"] == "anthropic:team"
    assert headers["x-openclaw-failover-downgraded"] == "false"
    assert json.loads(payload)["model"] == "claude-opus-4-6"


def test_sdk_streams_from_fallback_when_primary_limited(
    served: ServedProcess, upstreams: dict[str, Any]
) -> None:
    """Both Anthropic keys rate limited: the SDK's stream comes from openai, marked downgraded."""
    upstreams["anthropic"].always(HttpError(429, retry_after=900))
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key="x", max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=HI,
        stream=True,  # type: ignore[arg-type]
    )
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text
    assert raw.headers["x-openclaw-failover-provider"] == "openai"
    assert raw.headers["x-openclaw-failover-model"] == "gpt-5.4-mini"
    assert raw.headers["x-openclaw-failover-downgraded"] == "true"
    assert upstreams["anthropic"].keys_seen() == list(KEYS.values())[:2]
