"""What counts as the first token of a stream (design: "Deadlines per tier"): content, a tool
call, reasoning or a refusal; a role alone, an empty field or a malformed chunk does not."""

from __future__ import annotations

from typing import Any

import pytest

from openclaw_failover._upstream import has_token


def _delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields}]}


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        (_delta(role="assistant"), False),
        (_delta(role="assistant", content=""), False),
        (_delta(content="hi"), True),
        (_delta(role="assistant", content="hi"), True),
        (_delta(tool_calls=[{"index": 0, "id": "c1", "function": {"name": "f"}}]), True),
        (_delta(tool_calls=[]), False),
        (_delta(reasoning_content="thinking"), True),
        (_delta(reasoning="thinking"), True),
        (_delta(refusal="no"), True),
        (_delta(role="assistant", content=None, refusal=None), False),
        (_delta(), False),
        ({"choices": []}, False),
        ({"object": "chat.completion.chunk"}, False),
        ({"choices": ["not a choice"]}, False),
        ({"choices": [{"delta": "not a delta"}]}, False),
        ({"choices": [{"delta": {"role": "assistant"}}, {"delta": {"content": "x"}}]}, True),
        ({"choices": [{"delta": {"role": "assistant"}}, {"delta": {"refusal": "x"}}]}, True),
    ],
)
def test_has_token(chunk: dict[str, Any], expected: bool) -> None:
    assert has_token(chunk) is expected
