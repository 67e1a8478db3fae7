"""The normalised route table: immutable, and every setting carries the design's default."""

from __future__ import annotations

import dataclasses

import pytest

from tests.fixtures.config import base_standalone

#: The defaults exactly as the design's plugin block writes them (key: value in the table).
DESIGN_DEFAULTS = {
    "mode": "provider",
    "deadlines.interactive_first_token_s": 45,
    "deadlines.batch_first_token_s": 90,
    "deadlines.local_first_token_s": 120,
    "deadlines.stream_idle_s": 15,
    "deadlines.intent_budget_s": 150,
    "deadlines.max_request_deadline_s": 300,
    "retries.max_attempts_per_key": 2,
    "retries.max_attempts_per_intent": 8,
    "retries.inline_wait_max_s": 2,
    "sidecar.command": ("openclaw-failover", "sidecar"),
    "sidecar.timeout_ms": 2000,
    "tools.also_high_risk": (),
    "tools.allow_on_local": (),
    "state.backend": "file",
    "state.namespace": "openclaw-failover",
    "state.on_unavailable": "local",
    "audit.max_bytes": 104857600,
    "audit.keep": 5,
    "proxy.host": "127.0.0.1",
    "proxy.port": 8787,
    "proxy.max_body_bytes": 8388608,
    "alerts.hard_stop_share": 0.15,
    "alerts.local_share": 0.35,
    "banned_models": (),
    "probe_interval_s": 0,
    "allow_remote_local": False,
}


def _get(obj: object, dotted: str) -> object:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_every_setting_has_the_design_default(load_doc):
    """A file that sets nothing under failover gets every default the design's block lists."""
    settings = load_doc(base_standalone()).table.settings
    assert {k: _get(settings, k) for k in DESIGN_DEFAULTS} == DESIGN_DEFAULTS
    assert "exec" in settings.tools.high_risk
    assert settings.state.url is None
    assert settings.proxy.token is None


def test_table_is_immutable(load_doc):
    """Routes, providers, profiles and settings cannot be changed after loading."""
    table = load_doc(base_standalone()).table
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.version = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        table.routes["other"] = table.routes["auto"]  # type: ignore[index]
    with pytest.raises(TypeError):
        table.providers["anthropic"] = table.providers["openai"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.settings.deadlines.stream_idle_s = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.providers["anthropic"].profiles[0].id = "x"  # type: ignore[misc]
    assert isinstance(table.route("auto").candidates, tuple)
    assert isinstance(table.providers["anthropic"].profiles, tuple)
