"""Smoke tests of the real-OpenClaw fixture: config validation and one turn against a fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openclaw_failover.testing import Answer, FakeOpenAIServer, Ok
from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry, parse_json_output

pytestmark = [pytest.mark.openclaw_e2e, pytest.mark.slow]


@pytest.fixture
def fake_upstream() -> Iterator[FakeOpenAIServer]:
    """The package's fake OpenAI-compatible upstream on an ephemeral loopback port."""
    with FakeOpenAIServer() as fake:
        fake.always(Ok(Answer(text="Hello from the fixture fake")))
        yield fake


def test_parse_json_output_takes_last_document() -> None:
    """Leading log lines before the JSON document do not stop parsing."""
    assert parse_json_output('log line\n{"a": 1}\n') == {"a": 1}
    with pytest.raises(ValueError, match="no JSON"):
        parse_json_output("only logs")


def test_config_validate_accepts_fake_provider_and_rejects_root_providers(
    openclaw_home: OpenClawHome,
) -> None:
    """OpenClaw accepts a fake-provider config and refuses a root `providers` key (design fact)."""
    config = openclaw_home.base_config(
        {"fakeprimary": fake_provider_entry("http://127.0.0.1:9/v1")},
        primary="fakeprimary/fake-model",
    )
    openclaw_home.write_config(config)
    ok = openclaw_home.config_validate()
    assert ok.rc == 0, ok.stderr
    assert "valid" in (ok.stdout + ok.stderr).lower()

    openclaw_home.write_config({**config, "providers": {"x": {}}})
    bad = openclaw_home.config_validate()
    assert bad.rc != 0
    assert "providers" in (bad.stdout + bad.stderr)


def test_one_turn_answers_from_fake_upstream(
    openclaw_home: OpenClawHome, fake_upstream: FakeOpenAIServer
) -> None:
    """One `agent --local --json` turn reaches the fake and returns its reply and trace."""
    openclaw_home.write_config(
        openclaw_home.base_config(
            {"fakeprimary": fake_provider_entry(fake_upstream.url)},
            primary="fakeprimary/fake-model",
        )
    )
    turn = openclaw_home.run_turn("hi", "fixture-smoke")
    print(f"turn wall time: {turn.wall_s:.1f}s")
    assert turn.rc == 0, turn.stderr[-2000:]
    assert "Hello from the fixture fake" in turn.text
    assert turn.execution_trace.get("winnerProvider") == "fakeprimary"
    assert len(fake_upstream.chat_requests) == 1
    body = fake_upstream.chat_requests[0].json
    assert body["stream"] is True
    assert body["model"] == "fake-model"
