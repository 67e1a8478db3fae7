"""High-risk tool policy: default list, groups, aliases, tool_call targets, body filtering."""

from __future__ import annotations

import pytest

from openclaw_failover._model import DEFAULT_HIGH_RISK_TOOLS, ToolSettings
from openclaw_failover._toolpolicy import (
    expand_tools,
    filter_tools,
    high_risk_set,
    is_blocked,
    tool_call_targets,
)

POLICY = high_risk_set(ToolSettings())


def _tool(name: str) -> dict[str, object]:
    return {"type": "function", "function": {"name": name, "parameters": {}}}


def test_default_list_and_deferred_are_blocked() -> None:
    """Every default high-risk tool and the deferred terminal/file_write are in the set."""
    assert set(DEFAULT_HIGH_RISK_TOOLS) <= POLICY
    assert {"terminal", "file_write"} <= POLICY
    assert "read" not in POLICY
    assert "web_search" not in POLICY


def test_groups_and_aliases_expand() -> None:
    """group:runtime and group:fs (writes) expand; bash/exec and cron/automations are aliases."""
    assert expand_tools(["group:runtime"]) == {
        "exec",
        "bash",
        "process",
        "code_execution",
        "secrets",
    }
    assert expand_tools(["group:fs"]) == {"write", "edit", "apply_patch"}
    assert expand_tools(["Cron"]) == {"cron", "automations"}


def test_operator_additions_and_exceptions() -> None:
    """alsoHighRisk adds (groups too); allowOnLocal removes, alias included."""
    policy = high_risk_set(
        ToolSettings(also_high_risk=("group:web",), allow_on_local=("bash", "message"))
    )
    assert "web_fetch" in policy
    assert "exec" not in policy
    assert "bash" not in policy
    assert "message" not in policy


@pytest.mark.parametrize(
    ("name", "params", "blocked"),
    [
        ("exec", {}, True),
        ("EXEC", {}, True),
        ("read", {}, False),
        ("tool_call", {"id": "terminal"}, True),
        ("tool_call", {"id": "file_write"}, True),
        ("tool_call", {"id": "exec"}, True),
        ("tool_call", '{"id": "web_search"}', False),
        ("tool_call", '{"id": "terminal"}', True),
        ("tool_call", "not json", True),
        ("tool_call", {}, True),
        # OpenClaw 2026.9.6 resolves a catalog id, any of id / toolId / name, and a nested
        # args.id when no selector is at the top: each way to name a high-risk tool counts.
        ("tool_call", {"id": "openclaw:core:terminal", "args": {}}, True),
        ("tool_call", {"id": "no-such", "name": "terminal"}, True),
        ("tool_call", {"id": "no-such", "toolId": "file_write"}, True),
        ("tool_call", {"tool": "read", "args": {"id": "terminal"}}, True),
        ("tool_call", {"args": {"id": "exec"}}, True),
        ("tool_call", '{"id": "openclaw:core:exec"}', True),
        ("tool_call", {"id": "openclaw:core:web_search", "args": {"id": "x"}}, False),
    ],
)
def test_is_blocked(name: str, params: object, blocked: bool) -> None:
    """Direct high-risk calls and tool_call targets are blocked; unreadable targets fail safe."""
    assert is_blocked(name, params, POLICY) is blocked  # type: ignore[arg-type]


def test_tool_call_targets_read_mapping_or_json() -> None:
    """The deferred targets are read from a mapping or JSON text, lower-cased, a catalog
    id's prefix dropped; none readable is an empty tuple (which blocks)."""
    assert tool_call_targets({"id": "Terminal"}) == ("terminal",)
    assert tool_call_targets('{"id": "x"}') == ("x",)
    assert tool_call_targets({"id": "openclaw:core:Exec", "name": "read"}) == ("exec", "read")
    assert tool_call_targets({"args": {"id": "terminal"}}) == ("terminal",)
    assert tool_call_targets("[1]") == ()
    assert tool_call_targets(None) == ()


def test_filter_tools_removes_high_risk_and_fixes_tool_choice() -> None:
    """High-risk entries go, in order; a tool_choice naming one becomes auto."""
    body = {
        "messages": [],
        "tools": [_tool("read"), _tool("exec"), _tool("write")],
        "tool_choice": {"type": "function", "function": {"name": "exec"}},
    }
    out, removed = filter_tools(body, POLICY)
    assert removed == ("exec", "write")
    assert [t["function"]["name"] for t in out["tools"]] == ["read"]
    assert out["tool_choice"] == "auto"
    assert len(body["tools"]) == 3


def test_filter_tools_drops_empty_tool_fields_and_keeps_clean_bodies() -> None:
    """With no tool left the tool fields go; a body with nothing to remove is returned as is."""
    out, removed = filter_tools({"tools": [_tool("exec")], "parallel_tool_calls": True}, POLICY)
    assert removed == ("exec",)
    assert "tools" not in out
    assert "parallel_tool_calls" not in out
    clean = {"tools": [_tool("read")]}
    assert filter_tools(clean, POLICY) == (clean, ())
