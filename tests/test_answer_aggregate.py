"""A streamed answer merged into a whole ``chat.completion`` body (``aggregate``): tool calls
from servers that number them loosely, or send arguments as an object."""

from __future__ import annotations

from typing import Any

from openclaw_failover._answer import aggregate


def _chunk(delta: dict[str, Any], *, finish: str | None = None, index: Any = 0) -> dict[str, Any]:
    return {
        "id": "c1",
        "created": 7,
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def _call(index: Any, *, id_: str | None = None, name: str = "", args: Any = "") -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"name": name, "arguments": args}}
    if id_ is not None:
        call["id"] = id_
    return call


def _calls(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    message = body["choices"][0]["message"]
    return [
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]
    ]


def test_calls_streamed_in_pieces_are_joined_by_index() -> None:
    chunks = [
        _chunk({"role": "assistant"}),
        _chunk({"tool_calls": [_call(0, id_="a", name="read", args='{"pa')]}),
        _chunk({"tool_calls": [_call(0, args='th": "x"}')]}),
        _chunk({"tool_calls": [_call(1, id_="b", name="web_search", args="{}")]}),
        _chunk({}, finish="tool_calls"),
    ]
    body = aggregate(chunks, model="m")
    assert _calls(body) == [("a", "read", '{"path": "x"}'), ("b", "web_search", "{}")]
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_two_calls_a_server_numbers_both_zero_stay_two_calls() -> None:
    """Some servers give every call index 0; a new id starts a new call instead of gluing
    the second one's name and arguments onto the first ('readweb_search')."""
    chunks = [
        _chunk({"tool_calls": [_call(0, id_="a", name="read", args='{"path": "x"}')]}),
        _chunk({"tool_calls": [_call(0, id_="b", name="web_search", args='{"q": "y"}')]}),
        _chunk({}, finish="tool_calls"),
    ]
    assert _calls(aggregate(chunks, model="m")) == [
        ("a", "read", '{"path": "x"}'),
        ("b", "web_search", '{"q": "y"}'),
    ]


def test_a_null_index_and_object_arguments_do_not_break_the_answer() -> None:
    """A null ``index`` (on the choice or the call) reads as 0 and arguments sent as an object
    become JSON text, as OpenAI clients expect; before, both raised TypeError (a 500)."""
    chunks = [
        _chunk({"content": "ok"}, index=None),
        _chunk({"tool_calls": [_call(None, id_="a", name="read", args={"path": "x"})]}, index=None),
        _chunk({}, finish="tool_calls", index=None),
    ]
    body = aggregate(chunks, model="m")
    assert body["choices"][0]["message"]["content"] == "ok"
    assert _calls(body) == [("a", "read", '{"path":"x"}')]
