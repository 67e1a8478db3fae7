"""Replaying what OpenClaw 2026.9.6 sends (captured shape) through the proxy over HTTP."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from openclaw_failover.proxy import create_app
from tests.fixtures.proxy import StubEngine, running_server

FIXTURE = Path(__file__).parent / "fixtures" / "openclaw_request.json"


def captured() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def test_fixture_has_openclaw_shape() -> None:
    """The fixture carries what the reference lists: 12 tools, exec's schema, ~50 KB prompt."""
    body = captured()["body"]
    names = [t["function"]["name"] for t in body["tools"]]
    assert names == sorted(names)
    assert len(names) == 12
    exec_tool = body["tools"][names.index("exec")]["function"]
    assert exec_tool["parameters"]["required"] == ["command"]
    assert exec_tool["parameters"]["properties"]["host"]["enum"] == [
        "auto",
        "sandbox",
        "gateway",
        "node",
    ]
    assert 45_000 <= len(body["messages"][0]["content"]) <= 52_000
    assert body["stream"] is True
    assert body["tool_choice"] == "auto"
    assert isinstance(body["messages"][-1]["content"], list)


def test_replay_reaches_engine_unchanged_and_streams() -> None:
    """The OpenClaw-shaped request reaches the engine byte-for-byte (minus model) and streams."""
    engine = StubEngine()
    doc = captured()
    sent = doc["body"]
    raw = json.dumps(sent).encode()
    with running_server(create_app(engine)) as url:
        headers = {**doc["headers"], "authorization": "Bearer failover-local"}
        response = httpx.post(f"{url}/v1/chat/completions", content=raw, headers=headers)
    assert response.status_code == 200
    assert response.text.endswith("data: [DONE]\n\n")
    assert response.headers["x-openclaw-failover-model"] == "m1"
    request = engine.requests[0]
    expected = copy.deepcopy(sent)
    del expected["model"]
    assert request.body == expected
    assert request.stream is True
    assert request.route == "auto"
    assert request.trace_id == "0af7651916cd43dd8448eb211c80319c"
    tool_message = request.body["messages"][3]
    assert tool_message["tool_call_id"] == "callb90024071c02"
