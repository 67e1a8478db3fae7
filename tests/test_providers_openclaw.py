"""Real OpenClaw's own Ollama and Anthropic clients accept our fakes: the fakes speak the wire
formats well enough that a client nobody here wrote gets its answer through them."""

from __future__ import annotations

import pytest

from openclaw_failover.testing import Answer, FakeAnthropicServer, FakeOllamaServer, Ok
from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry

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
