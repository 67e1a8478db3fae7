"""What the local guard records for a refused call: the policy's word for the tool, never the
model's own text for its name, which can be of any size and carry whatever it read."""

from __future__ import annotations

from openclaw_failover._localguard import REFUSAL, LocalToolGuard
from openclaw_failover._model import ToolSettings
from openclaw_failover._toolpolicy import blocked_name, high_risk_set

POLICY = high_risk_set(ToolSettings())
SECRET = "sk-live-4f9a8b7c6d5e"


def _refuse(name: str, arguments: str) -> tuple[list[str], str]:
    guard = LocalToolGuard(POLICY, ())
    call = {"index": 0, "id": "c1", "function": {"name": name, "arguments": arguments}}
    out = guard.feed({"id": "x", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    out += guard.finish()
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in out)
    return guard.blocked, text


def test_a_name_carrying_a_secret_is_recorded_by_the_policy_word() -> None:
    """``exec <key>`` is refused and recorded as ``exec``; the key is in neither."""
    blocked, text = _refuse(f"exec {SECRET}", '{"command": "id"}')
    assert blocked == ["exec"]
    assert text == REFUSAL.format(name="exec")
    assert SECRET not in text


def test_a_huge_mangled_name_is_recorded_short() -> None:
    """A 100 kB name around ``functions.write`` is recorded as ``write``."""
    blocked, _ = _refuse("functions.write." + "A" * 100_000, "{}")
    assert blocked == ["write"]


def test_tool_call_is_recorded_as_tool_call_without_its_arguments() -> None:
    """A refused ``tool_call`` is recorded by name only; its arguments (which may hold a
    secret) appear nowhere."""
    blocked, text = _refuse("functions.tool_call", f'{{"id": "exec", "args": {{"k": "{SECRET}"}}}}')
    assert blocked == ["tool_call"]
    assert SECRET not in text


def test_blocked_name_is_none_for_harmless_calls() -> None:
    """Harmless calls get no name; the policy word matches is_blocked's decision."""
    assert blocked_name("read", "{}", POLICY) is None
    assert blocked_name("tool_call", '{"id": "web_search"}', POLICY) is None
    assert blocked_name("Apply-Patch", "{}", POLICY) == "apply_patch"
