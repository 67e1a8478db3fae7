"""The local-tier answer guard reads tool-call deltas however a server numbers or shapes them.

Each case used to either glue two calls into one (neither runs), crash the answer, or let a
call through unguarded; the guard must pass on each call it checked, and only those.
"""

from __future__ import annotations

from typing import Any

from openclaw_failover._localguard import REFUSAL, LocalToolGuard
from openclaw_failover._model import ToolSettings
from openclaw_failover._toolpolicy import high_risk_set

POLICY = high_risk_set(ToolSettings())


def _chunk(delta: dict[str, Any], *, index: int = 0, finish: str | None = None) -> dict[str, Any]:
    return {"id": "x", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def _call(name: str, args: Any, **extra: Any) -> dict[str, Any]:
    return {**extra, "type": "function", "function": {"name": name, "arguments": args}}


def _run(*chunks: dict[str, Any]) -> tuple[list[dict[str, Any]], LocalToolGuard]:
    guard = LocalToolGuard(POLICY, ())
    out = [c for chunk in chunks for c in guard.feed(chunk)]
    return out + guard.finish(), guard


def _calls(out: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    return [
        call
        for chunk in out
        for choice in chunk["choices"]
        if choice["index"] == index
        for call in choice["delta"].get("tool_calls") or ()
    ]


def _text(out: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for chunk in out
        for choice in chunk["choices"]
        if choice["index"] == index
    )


def test_a_second_call_reusing_index_0_is_its_own_call() -> None:
    """A server numbering every call 0 (each with its own id): read passes, exec is refused."""
    out, guard = _run(
        _chunk({"tool_calls": [_call("read", '{"path": "a"}', index=0, id="c1")]}),
        _chunk({"tool_calls": [_call("exec", '{"command": "id"}', index=0, id="c2")]}),
        _chunk({}, finish="tool_calls"),
    )
    calls = _calls(out)
    assert [(c["id"], c["function"]["name"]) for c in calls] == [("c1", "read")]
    assert calls[0]["function"]["arguments"] == '{"path": "a"}'
    assert _text(out) == REFUSAL.format(name="exec")
    assert guard.blocked == ["exec"]


def test_deltas_without_an_index_continue_the_latest_call() -> None:
    """Name first, arguments later, no index anywhere: one call; a new id starts another."""
    out, _ = _run(
        _chunk({"tool_calls": [{"id": "c1", "function": {"name": "read"}}]}),
        _chunk({"tool_calls": [{"function": {"arguments": '{"path":'}}]}),
        _chunk({"tool_calls": [{"index": None, "function": {"arguments": ' "a"}'}}]}),
        _chunk({"tool_calls": [{"id": "c2", "function": {"name": "write", "arguments": "{}"}}]}),
        _chunk({}, finish="tool_calls"),
    )
    assert [(c["function"]["name"], c["function"]["arguments"]) for c in _calls(out)] == [
        ("read", '{"path": "a"}')
    ]
    assert _text(out) == REFUSAL.format(name="write")


def test_arguments_sent_as_an_object_are_read_not_crashed_on() -> None:
    """A server that sends arguments as an object: the call passes with them as JSON text,
    and a tool_call aimed at exec that way is still refused."""
    out, _ = _run(
        _chunk({"tool_calls": [_call("read", {"path": "a"}, index=0, id="c1")]}),
        _chunk({"tool_calls": [_call("tool_call", {"id": "exec"}, index=1, id="c2")]}),
        _chunk({}, finish="tool_calls"),
    )
    assert [c["function"]["arguments"] for c in _calls(out)] == ['{"path":"a"}']
    assert _text(out) == REFUSAL.format(name="tool_call")


def test_each_choice_keeps_its_own_calls() -> None:
    """With n=2, choice 0's read and choice 1's exec are two calls, not one glued name."""
    out, _ = _run(
        {
            "id": "x",
            "choices": [
                {"index": 0, "delta": {"tool_calls": [_call("read", "{}", index=0, id="a")]}},
                {"index": 1, "delta": {"tool_calls": [_call("exec", "{}", index=0, id="b")]}},
            ],
        },
        _chunk({}, index=0, finish="tool_calls"),
        _chunk({}, index=1, finish="tool_calls"),
    )
    assert [c["function"]["name"] for c in _calls(out, 0)] == ["read"]
    assert _calls(out, 1) == []
    assert _text(out, 1) == REFUSAL.format(name="exec")
    finishes = [c["choices"][0]["finish_reason"] for c in out if c["choices"][0]["finish_reason"]]
    assert finishes == ["tool_calls", "stop"]


def test_tool_calls_that_are_not_a_list_never_pass_unguarded() -> None:
    """``tool_calls`` sent as one object is read as a one-call list, so exec is refused."""
    out, guard = _run(
        _chunk({"tool_calls": _call("exec", '{"command": "id"}', index=0, id="c1")}),
        _chunk({}, finish="tool_calls"),
    )
    assert all("tool_calls" not in c["choices"][0]["delta"] for c in out)
    assert guard.blocked == ["exec"]
