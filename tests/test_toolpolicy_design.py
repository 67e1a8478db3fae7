"""The default high-risk list is the design's list, word for word, blocked both ways."""

from __future__ import annotations

import pytest

from openclaw_failover._model import (
    DEFAULT_HIGH_RISK_DEFERRED,
    DEFAULT_HIGH_RISK_TOOLS,
    ToolSettings,
)
from openclaw_failover._toolpolicy import high_risk_set, is_blocked

#: Copied from the design's "High-risk tools" section, not from the code.
DESIGN_DIRECT = [
    "exec",
    "bash",
    "process",
    "code_execution",
    "write",
    "edit",
    "apply_patch",
    "browser",
    "computer",
    "nodes",
    "gateway",
    "plugins",
    "openclaw",
    "sessions_spawn",
    "automations",
    "cron",
    "message",
    "secrets",
]
DESIGN_DEFERRED = ["terminal", "file_write"]
POLICY = high_risk_set(ToolSettings())


def test_default_lists_match_the_design() -> None:
    """The code's default direct and deferred lists are exactly the design's."""
    assert sorted(DEFAULT_HIGH_RISK_TOOLS) == sorted(DESIGN_DIRECT)
    assert sorted(DEFAULT_HIGH_RISK_DEFERRED) == sorted(DESIGN_DEFERRED)


@pytest.mark.parametrize("name", DESIGN_DIRECT)
def test_each_design_tool_is_blocked_directly_and_through_tool_call(name: str) -> None:
    """Every listed tool is blocked when called by name and as a ``tool_call`` target."""
    assert is_blocked(name, {}, POLICY)
    assert is_blocked("tool_call", {"id": name}, POLICY)


@pytest.mark.parametrize("name", DESIGN_DEFERRED)
def test_deferred_tools_are_blocked_through_tool_call(name: str) -> None:
    """terminal and file_write are blocked as tool_call targets."""
    assert is_blocked("tool_call", {"id": name}, POLICY)


@pytest.mark.parametrize("name", ["read", "web_search", "memory_search"])
def test_harmless_tools_pass_both_ways(name: str) -> None:
    """A tool off the list passes by name and as a tool_call target (the near miss)."""
    assert not is_blocked(name, {}, POLICY)
    assert not is_blocked("tool_call", {"id": name}, POLICY)
