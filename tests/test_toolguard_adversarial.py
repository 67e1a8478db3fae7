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


# Answers OpenClaw 2026.9.6 runs as an ``exec`` call though they carry no tool call: its
# tool-call repair (``projectStandalonePlainTextToolCallMessage``) promotes a text that is
# nothing but calls in these forms, when the answer stops normally.
TEXT_CALLS = [
    'commentary to=exec code {"command": "id"}',
    '<|channel|>commentary to=exec code<|message|>{"command": "id"}',
    "<function=exec>\n<parameter=command>\nid\n</parameter>\n</function>",
    "<FUNCTION=functions.exec:0>\n<parameter=command>\nid\n</parameter>\n</FUNCTION>",
    '[tool:exec]{"command": "id"}',
    '[exec]\n{"command": "id"}[END_TOOL_REQUEST]',
]


def _pieces(text: str, size: int = 5) -> list[dict[str, Any]]:
    return [_chunk({"content": text[i : i + size]}) for i in range(0, len(text), size)]


@pytest.mark.parametrize("text", TEXT_CALLS)
def test_a_tool_call_written_as_text_gets_a_refusal_after_it(text: str) -> None:
    """The refusal line after the call leaves a text that is no longer only calls, which
    OpenClaw does not promote; the refusal is audited like a refused tool call."""
    out, guard = _run(*_pieces(text), _chunk({}, finish="stop"))
    said = _text(out)
    assert said.startswith(text)
    assert "The call to the tool 'exec' was refused" in said[len(text) :]
    assert guard.blocked == ["exec"]
    assert out[-1]["choices"][0]["finish_reason"] == "stop"


def test_a_text_call_is_refused_when_the_stream_ends_without_a_finish() -> None:
    out, guard = _run(*_pieces(TEXT_CALLS[0]))
    assert "The call to the tool 'exec' was refused" in _text(out)
    assert guard.blocked == ["exec"]


def test_a_text_call_in_the_finishing_chunk_is_read_too() -> None:
    out, guard = _run(_chunk({"content": TEXT_CALLS[4]}, finish="stop"))
    said = _text(out)
    assert said.startswith(TEXT_CALLS[4])
    assert "refused" in said[len(TEXT_CALLS[4]) :]
    assert guard.blocked == ["exec"]


def test_a_tool_call_dispatch_written_as_text_is_refused() -> None:
    """Its target is not read from text: a ``tool_call`` there is refused (fail safe)."""
    out, guard = _run(_chunk({"content": '[tool:tool_call]{"id": "terminal"}'}, finish="stop"))
    assert "The call to the tool 'tool_call' was refused" in _text(out)
    assert guard.blocked == ["tool_call"]


@pytest.mark.parametrize(
    "text",
    [
        "I will not run exec or write files; see [the docs](https://example.invalid).",
        '[tool:read]{"path": "a"}',
        "<function=read>\n<parameter=path>\na\n</parameter>\n</function>",
        "Use `to=` sparingly; [write] is a tool I lack.",
    ],
)
def test_plain_answers_and_harmless_text_calls_are_left_alone(text: str) -> None:
    out, guard = _run(*_pieces(text), _chunk({}, finish="stop"))
    assert _text(out) == text
    assert guard.blocked == []
