"""Adversarial review of the local-tier tool guard against OpenClaw 2026.9.6's own name reading.

The guard must be at least as broad as OpenClaw: a spelling its dispatch resolves to a
high-risk tool, or a call it builds from other parts of the answer, must be refused while the
local tier answers. Each case here was read off the 2026.9.6 dist (``resolveToolCallName``,
``normalizeToolCallsInMessage``, the ``tool-call-repair`` text promotion) and got past the
guard before its fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover._localguard import LocalToolGuard
from openclaw_failover._model import ToolSettings
from openclaw_failover._toolpolicy import blocked_name, filter_tools, high_risk_set, name_forms
from tests.test_plugin_bridge import bridge_value

POLICY = high_risk_set(ToolSettings())


def _chunk(delta: dict[str, Any], *, finish: str | None = None) -> dict[str, Any]:
    return {"id": "x", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _call(name: str, args: str, *, call_id: str = "c1") -> dict[str, Any]:
    return {
        "index": 0,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": args},
    }


def _run(*chunks: dict[str, Any]) -> tuple[list[dict[str, Any]], LocalToolGuard]:
    guard = LocalToolGuard(POLICY, ())
    out = [c for chunk in chunks for c in guard.feed(chunk)]
    return out + guard.finish(), guard


def _calls(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        call
        for chunk in out
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls") or ()
    ]


def _text(out: list[dict[str, Any]]) -> str:
    return "".join(
        choice["delta"].get("content") or "" for chunk in out for choice in chunk["choices"]
    )


# OpenClaw 2026.9.6 resolves each of these to the tool on the right when the model calls it
# (``inferToolNameFromToolCallId`` run on the name: a trailing counter and a ``functions`` /
# ``tools`` prefix without a separator are dropped).
COUNTED_OR_GLUED = {
    "exec1": "exec",
    "exec_1": "exec",
    "exec-2": "exec",
    "bash1": "bash",
    "write2": "write",
    "process9": "process",
    "toolexec": "exec",
    "toolsexec": "exec",
    "functionexec": "exec",
    "functionsexec": "exec",
    "function_exec": "exec",
    "Functions_Exec_3": "exec",
}


@pytest.mark.parametrize("called", sorted(COUNTED_OR_GLUED))
def test_a_counter_or_a_glued_namespace_does_not_hide_a_high_risk_tool(called: str) -> None:
    word = COUNTED_OR_GLUED[called]
    assert blocked_name(called, '{"command": "id"}', POLICY) == word
    out, guard = _run(
        _chunk({"tool_calls": [_call(called, '{"command": "id"}')]}),
        _chunk({}, finish="tool_calls"),
    )
    assert _calls(out) == []
    assert guard.blocked == [word]


def test_a_counted_tool_call_is_read_for_its_target() -> None:
    """``tool_call2`` is OpenClaw's ``tool_call``: its ``id`` decides, as for the plain name."""
    assert blocked_name("tool_call2", '{"id": "terminal"}', POLICY) == "tool_call"
    assert blocked_name("tool_call2", '{"id": "read"}', POLICY) is None


def test_a_counted_name_is_taken_out_of_the_offer() -> None:
    body = {"tools": [{"type": "function", "function": {"name": n}} for n in ("exec1", "read")]}
    narrowed, removed = filter_tools(body, POLICY)
    assert removed == ("exec1",)
    assert [t["function"]["name"] for t in narrowed["tools"]] == ["read"]


@pytest.mark.parametrize("called", ["read", "read1", "tool_search", "tool_describe", "ls"])
def test_harmless_names_stay_allowed(called: str) -> None:
    assert blocked_name(called, '{"query": "x"}', POLICY) is None


@pytest.fixture
def node(openclaw_bin: Path) -> Path:
    """Node 24 from the OpenClaw install."""
    return openclaw_bin / "node"


def test_the_bridge_fail_safe_reads_counters_and_glued_namespaces_too(node: Path) -> None:
    """The JS fail-safe (sidecar silent) drops the same namespace and counter as the core."""
    names = sorted(COUNTED_OR_GLUED)
    got = bridge_value(node, f"{json.dumps(names)}.map(m.nameForms)")
    assert [sorted(forms) for forms in got] == [sorted(name_forms(name)) for name in names]


@pytest.mark.parametrize("blank", ["", "  ", "\ufeff", "\u00a0\t"])
@pytest.mark.parametrize("call_id", ["exec", "functions.exec:0", "exec_5"])
def test_a_blank_name_is_read_from_the_call_id(blank: str, call_id: str) -> None:
    """OpenClaw 2026.9.6 names a call whose name trims to nothing by its id
    (``normalizeToolCallsInMessage``: ``functions.exec:0`` runs ``exec``)."""
    out, guard = _run(
        _chunk({"tool_calls": [_call(blank, '{"command": "id"}', call_id=call_id)]}),
        _chunk({}, finish="tool_calls"),
    )
    assert _calls(out) == []
    assert guard.blocked == ["exec"]


def test_a_named_call_is_not_read_from_its_id() -> None:
    """Only a blank name falls back to the id: ``read`` with any id stays ``read``."""
    out, guard = _run(
        _chunk({"tool_calls": [_call("read", '{"path": "a"}', call_id="functions.exec:0")]}),
        _chunk({}, finish="tool_calls"),
    )
    assert [c["function"]["name"] for c in _calls(out)] == ["read"]
    assert guard.blocked == []
