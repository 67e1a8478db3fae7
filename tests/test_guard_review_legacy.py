"""The legacy OpenAI function-calling form (``functions`` / ``function_call``) is guarded like
``tools`` / ``tool_calls``: on the request sent to a local model and in its answer."""

from __future__ import annotations

from typing import Any

from openclaw_failover._localguard import REFUSAL, LocalToolGuard
from openclaw_failover._model import ToolSettings
from openclaw_failover._toolpolicy import filter_tools, high_risk_set

POLICY = high_risk_set(ToolSettings())


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "x", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _run(name: str) -> tuple[list[dict[str, Any]], LocalToolGuard]:
    guard = LocalToolGuard(POLICY, ())
    chunks = [
        _chunk({"role": "assistant", "function_call": {"name": name, "arguments": ""}}),
        _chunk({"function_call": {"arguments": '{"command":'}}),
        _chunk({"function_call": {"arguments": ' "id"}'}}),
        _chunk({}, finish="function_call"),
    ]
    return [c for chunk in chunks for c in guard.feed(chunk)], guard


def test_a_legacy_function_call_to_exec_is_refused() -> None:
    """``delta.function_call`` naming exec never reaches the caller; a refusal does."""
    out, guard = _run("exec")
    deltas = [c["choices"][0]["delta"] for c in out]
    assert not any("function_call" in d for d in deltas)
    assert "".join(d.get("content") or "" for d in deltas) == REFUSAL.format(name="exec")
    assert out[-1]["choices"][0]["finish_reason"] == "stop"
    assert guard.blocked == ["exec"]


def test_a_harmless_legacy_function_call_passes_whole() -> None:
    """A legacy call to read arrives as one ``function_call`` delta with all its arguments."""
    out, guard = _run("read")
    calls = [
        c["choices"][0]["delta"]["function_call"]
        for c in out
        if "function_call" in c["choices"][0]["delta"]
    ]
    assert calls == [{"name": "read", "arguments": '{"command": "id"}'}]
    assert out[-1]["choices"][0]["finish_reason"] == "function_call"
    assert guard.blocked == []


def test_legacy_functions_in_the_request_are_filtered() -> None:
    """``functions`` loses exec, and a ``function_call`` forcing it becomes auto."""
    body = {
        "messages": [],
        "functions": [{"name": "read", "parameters": {}}, {"name": "exec", "parameters": {}}],
        "function_call": {"name": "exec"},
    }
    out, removed = filter_tools(body, POLICY)
    assert removed == ("exec",)
    assert out["functions"] == [{"name": "read", "parameters": {}}]
    assert out["function_call"] == "auto"


def test_only_high_risk_legacy_functions_drop_the_offer() -> None:
    """With nothing left, ``functions`` and its ``function_call`` are dropped."""
    body = {"messages": [], "functions": [{"name": "write"}], "function_call": "auto"}
    out, removed = filter_tools(body, POLICY)
    assert removed == ("write",)
    assert "functions" not in out
    assert "function_call" not in out
