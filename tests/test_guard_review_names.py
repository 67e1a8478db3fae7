"""The tool guard sees through the spellings OpenClaw's dispatch forgives.

OpenClaw runs ``functions.exec``, ``tools/exec``, ``functions:exec``, ``Apply-Patch`` and a
name with a byte-order mark as the real tool, so a local model that writes one of them must be
refused as if it had written ``exec`` / ``apply_patch``; well-formed harmless names still pass.
"""

from __future__ import annotations

import pytest

from openclaw_failover._localguard import LocalToolGuard
from openclaw_failover._model import ToolSettings
from openclaw_failover._toolpolicy import filter_tools, high_risk_set, is_blocked

POLICY = high_risk_set(ToolSettings())

MANGLED = [
    "functions.exec",
    "tools/exec",
    "functions:exec",
    "functions_exec",
    "apply-patch",
    "Apply-Patch",
    "\ufeffexec",
    "exec<|channel|>commentary",
    "\uff45\uff58\uff45\uff43",  # fullwidth "exec"
    "functions.write",
]
HARMLESS = ["read", "ls", "tool_search", "tool_describe", "web_search", "functions.read"]


def _tool(name: str) -> dict[str, object]:
    return {"type": "function", "function": {"name": name, "parameters": {}}}


@pytest.mark.parametrize("name", MANGLED)
def test_mangled_high_risk_names_are_blocked(name: str) -> None:
    """A high-risk tool under a spelling OpenClaw still dispatches is blocked."""
    assert is_blocked(name, "{}", POLICY)


@pytest.mark.parametrize("name", HARMLESS)
def test_harmless_names_still_pass(name: str) -> None:
    """Reading the spellings does not block a harmless tool."""
    assert not is_blocked(name, "{}", POLICY)


@pytest.mark.parametrize("name", ["functions.tool_call", "Tool-Call"])
def test_a_mangled_tool_call_still_has_its_target_read(name: str) -> None:
    """A ``tool_call`` under another spelling is still inspected for its target."""
    assert is_blocked(name, '{"id": "exec"}', POLICY)
    assert not is_blocked(name, '{"id": "web_fetch"}', POLICY)


def test_tool_call_target_spellings_are_read_too() -> None:
    """``tool_call {id: "Apply-Patch"}`` aims at apply_patch."""
    assert is_blocked("tool_call", '{"id": "Apply-Patch"}', POLICY)
    assert is_blocked("tool_call", '{"id": "functions.exec"}', POLICY)


def test_filter_tools_removes_offered_spellings_and_their_tool_choice() -> None:
    """An offered ``Apply-Patch`` is taken out, and a tool_choice forcing ``Exec`` is relaxed."""
    body = {
        "messages": [],
        "tools": [_tool("read"), _tool("Apply-Patch"), _tool("exec")],
        "tool_choice": {"type": "function", "function": {"name": "Exec"}},
    }
    out, removed = filter_tools(body, POLICY)
    assert removed == ("Apply-Patch", "exec")
    assert out["tools"] == [_tool("read")]
    assert out["tool_choice"] == "auto"


def _call_chunk(name: str) -> dict[str, object]:
    function = {"name": name, "arguments": '{"command": "id"}'}
    call = {"index": 0, "id": "c1", "type": "function", "function": function}
    return {"id": "x", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}


def test_local_answer_calling_functions_exec_is_refused() -> None:
    """The answer guard refuses ``functions.exec`` in plain text and passes no call on."""
    guard = LocalToolGuard(POLICY, ())
    out = guard.feed(_call_chunk("functions.exec"))
    out += guard.feed(
        {"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    )
    deltas = [c["choices"][0]["delta"] for c in out]
    assert not any("tool_calls" in d for d in deltas)
    assert "refused" in "".join(d.get("content", "") for d in deltas)
    assert out[-1]["choices"][0]["finish_reason"] == "stop"
    assert guard.blocked == ["exec"]
