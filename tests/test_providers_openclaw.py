"""Real OpenClaw's own Ollama and Anthropic clients accept our fakes: the fakes speak the wire
formats well enough that a client nobody here wrote gets its answer through them."""

from __future__ import annotations

import pytest

from openclaw_failover._model import Candidate, Profile, Provider, Route, RouteTable, Secret, Tier
from openclaw_failover.proxy import create_app
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.testing import (
    Answer,
    CapturingAuditSink,
    FakeAnthropicServer,
    FakeClock,
    FakeOllamaServer,
    HttpError,
    Ok,
    tool_reply,
)
from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry
from tests.fixtures.proxy import running_server

pytestmark = [pytest.mark.openclaw_e2e, pytest.mark.slow]


def test_openclaw_ollama_client_reads_the_ollama_fake(openclaw_home: OpenClawHome) -> None:
    """An ``api: "ollama"`` provider (native, no ``/v1``) gets its reply from FakeOllamaServer
    over ``/api/chat``."""
    with FakeOllamaServer(models=["qwen3:8b"]) as fake:
        fake.always(Ok(Answer(text="Hello from the Ollama fake.")))
        entry = fake_provider_entry(
            fake.url, model_id="qwen3:8b", api_key="ollama-local", api="ollama"
        )
        openclaw_home.write_config(
            openclaw_home.base_config({"ollama": entry}, primary="ollama/qwen3:8b")
        )
        turn = openclaw_home.run_turn("hi", "ollama-fake")
        paths = {r.path for r in fake.requests}
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "Hello from the Ollama fake." in turn.text
    assert "/api/chat" in paths
    sent = fake.chat_requests[0].json
    assert sent["model"] == "qwen3:8b"
    assert sent["stream"] is True
    assert sent.get("truncate") is False  # what our adapter copies (errors, not truncation)


def test_openclaw_anthropic_client_reads_the_anthropic_fake(openclaw_home: OpenClawHome) -> None:
    """An ``api: "anthropic-messages"`` provider gets its reply from FakeAnthropicServer, sending
    its key in ``x-api-key``."""
    with FakeAnthropicServer(models=["claude-fake"]) as fake:
        fake.always(Ok(Answer(text="Hello from the Anthropic fake.")))
        entry = fake_provider_entry(
            fake.url, model_id="claude-fake", api_key="sk-ant-e2e", api="anthropic-messages"
        )
        openclaw_home.write_config(
            openclaw_home.base_config({"anthropicfake": entry}, primary="anthropicfake/claude-fake")
        )
        turn = openclaw_home.run_turn("hi", "anthropic-fake")
        keys = fake.keys_seen()
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "Hello from the Anthropic fake." in turn.text
    assert keys
    assert keys[0] == "sk-ant-e2e"


def test_openclaw_through_the_proxy_runs_a_tool_call_answered_by_ollama(
    openclaw_home: OpenClawHome,
) -> None:
    """Real OpenClaw talks OpenAI to the proxy; Anthropic is overloaded, so the Ollama fake
    answers with a ``read`` tool call translated to OpenAI shape. OpenClaw runs the tool and
    sends its result back, which reaches Ollama as a ``tool`` message naming the tool."""
    (openclaw_home.workspace / "note.txt").write_text("secret-sauce-42\n", encoding="utf-8")
    with FakeAnthropicServer() as anthropic, FakeOllamaServer(models=["qwen3:8b"]) as ollama:
        anthropic.always(HttpError(529))
        ollama.script(tool_reply("read", {"path": "note.txt"}), Ok(Answer(text="It says 42.")))
        table = _anthropic_then_ollama(anthropic.url, ollama.url)
        app = create_app(
            table, store=MemoryStateStore(), audit=CapturingAuditSink(), clock=FakeClock()
        )
        with running_server(app) as proxy:
            entry = fake_provider_entry(f"{proxy}/v1", model_id="auto", api_key="sk-proxy")
            openclaw_home.write_config(
                openclaw_home.base_config({"failover": entry}, primary="failover/auto")
            )
            turn = openclaw_home.run_turn("What does note.txt say?", "cross-vendor-tool")
        requests = [r.json for r in ollama.chat_requests]
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "It says 42." in turn.text
    assert anthropic.chat_requests
    assert len(requests) == 2
    tool_messages = [m for m in requests[1]["messages"] if m["role"] == "tool"]
    assert tool_messages
    assert "secret-sauce-42" in tool_messages[-1]["content"]
    assert tool_messages[-1].get("tool_name") == "read"


def _anthropic_then_ollama(anthropic_url: str, ollama_url: str) -> RouteTable:
    key = (Profile("anthropic:0", "anthropic", Secret("sk-ant-e2e"), "config"),)
    providers = {
        "anthropic": Provider("anthropic", "anthropic-messages", anthropic_url, key),
        "ollama": Provider("ollama", "ollama", ollama_url),
    }
    chain = (Candidate("anthropic", "claude-fake"), Candidate("ollama", "qwen3:8b", Tier.LOCAL))
    return RouteTable(routes={"auto": Route("auto", chain)}, providers=providers, version="e2e")
