"""The local-tier tool guard against OpenClaw 2026.9.6's code-mode tool search.

``tool_search_code`` (``TOOL_SEARCH_CODE_MODE_TOOL_NAME`` in the dist's local-model-lean module)
runs the model's JavaScript, whose ``openclaw.tools.call('terminal', ...)`` reaches every
deferred tool. Its targets cannot be read, so on the local tier it is high-risk whenever any
tool is, as a ``tool_call`` with an unreadable target; ``allowOnLocal`` may name it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover._exchange import ChatRequest
from openclaw_failover._localguard import REFUSAL, LocalToolGuard
from openclaw_failover._model import Tier, ToolSettings
from openclaw_failover._plugin_guard import ToolGuard
from openclaw_failover._toolpolicy import (
    TOOL_GROUPS,
    blocked_name,
    expand_tools,
    filter_tools,
    high_risk_set,
)
from openclaw_failover.config import LoadResult
from tests.fixtures import plugin_host
from tests.fixtures.config import base_openclaw, base_standalone
from tests.fixtures.engine import Spec, chunk, error, make_engine, make_table, stream
from tests.test_plugin_bridge import bridge_value, run_bridge, tool_step

POLICY = high_risk_set(ToolSettings())
CODE = "tool_search_code"
#: What a model sends it: JavaScript that reaches a deferred high-risk tool.
ARGS = json.dumps({"code": "return await openclaw.tools.call('terminal', {input: 'id'});"})


def _offer(*names: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": "do it"}],
        "tools": [{"type": "function", "function": {"name": n}} for n in names],
    }


def _call_chunk(name: str, args: str = ARGS) -> dict[str, Any]:
    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": name}}
    call["function"]["arguments"] = args
    return {"id": "x", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}


FINISH = {"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}


# -- 1. tool_search_code ---------------------------------------------------------------------


def test_code_mode_is_high_risk_by_default() -> None:
    assert CODE in POLICY


@pytest.mark.parametrize(
    "called", [CODE, "Tool_Search_Code", "functions.tool_search_code", "tool_search_code1"]
)
def test_code_mode_is_refused_under_any_spelling_openclaw_runs(called: str) -> None:
    assert blocked_name(called, ARGS, POLICY) == CODE


def test_code_mode_is_refused_whatever_its_code() -> None:
    """Even code that only searches: what it calls is decided when it runs (fail safe)."""
    assert blocked_name(CODE, '{"code": "return openclaw.tools.search(\'x\')"}', POLICY) == CODE
    assert blocked_name(CODE, "{}", POLICY) == CODE


def test_code_mode_is_taken_out_of_a_local_request() -> None:
    body = {**_offer("read", CODE), "tool_choice": {"type": "function", "function": {"name": CODE}}}
    narrowed, removed = filter_tools(body, POLICY)
    assert removed == (CODE,)
    assert [t["function"]["name"] for t in narrowed["tools"]] == ["read"]
    assert narrowed["tool_choice"] == "auto"


def test_a_streamed_code_mode_call_is_refused() -> None:
    guard = LocalToolGuard(POLICY, ())
    out = [c for ch in (_call_chunk(CODE), FINISH) for c in guard.feed(ch)] + guard.finish()
    deltas = [choice["delta"] for c in out for choice in c["choices"]]
    assert not any("tool_calls" in d for d in deltas)
    assert REFUSAL.format(name=CODE) in "".join(d.get("content") or "" for d in deltas)
    assert guard.blocked == [CODE]


def test_code_mode_written_as_text_is_refused() -> None:
    guard = LocalToolGuard(POLICY, ())
    text = '[tool:tool_search_code]{"code": "return 1"}'
    done = {
        "id": "x",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}],
    }
    out = guard.feed(done)
    assert REFUSAL.format(name=CODE) in out[-1]["choices"][0]["delta"]["content"]
    assert guard.blocked == [CODE]


async def test_a_local_non_streamed_answer_calling_code_mode_is_refused() -> None:
    specs = [Spec("cloud", "big"), Spec("ollama", "qwen", tier=Tier.LOCAL)]
    rig = make_engine(make_table(specs))
    rig.upstream.set(error(503), model="big")
    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": CODE}}
    call["function"]["arguments"] = ARGS
    reply = stream(chunk({"tool_calls": [call]}), chunk({}, finish="tool_calls"))
    rig.upstream.set(reply, model="qwen")
    meta, body = await rig.engine.complete(ChatRequest(body=_offer("read", CODE)))
    assert meta.tier == "local"
    assert [t["function"]["name"] for t in rig.upstream.bodies[-1]["tools"]] == ["read"]
    assert meta.tools_blocked == (CODE,)
    message = body["choices"][0]["message"]
    assert "tool_calls" not in message
    assert message["content"] == REFUSAL.format(name=CODE)


def test_allow_on_local_can_name_code_mode() -> None:
    policy = high_risk_set(ToolSettings(allow_on_local=(CODE,)))
    assert CODE not in policy
    assert "exec" in policy
    assert blocked_name(CODE, ARGS, policy) is None


def test_code_mode_is_free_when_nothing_is_high_risk() -> None:
    """The rule follows the list: with every tool allowed, nothing is held back."""
    assert high_risk_set(ToolSettings(high_risk=(), high_risk_deferred=())) == frozenset()
    everything = ToolSettings(high_risk=("exec",), high_risk_deferred=(), allow_on_local=("exec",))
    assert high_risk_set(everything) == frozenset()


def test_the_plugin_guard_blocks_code_mode_on_the_local_tier() -> None:
    guard = ToolGuard(plugin_host.make_table())
    local = plugin_host.LOCAL
    guard.note_model("r1", local.provider, local.model)
    decision = guard.decide("r1", CODE, json.loads(ARGS))
    assert decision.block
    assert decision.tool == CODE
    assert CODE in guard.policy()["highRisk"]
    assert CODE not in guard.tools_allow()


def test_the_plugin_guard_lets_an_allowed_code_mode_run() -> None:
    table = plugin_host.make_table(tools=ToolSettings(allow_on_local=(CODE,)))
    guard = ToolGuard(table)
    assert not guard.decide(None, CODE, json.loads(ARGS)).block
    assert CODE in guard.tools_allow()
    assert guard.policy()["allowOnLocal"] == [CODE]


@pytest.fixture
def node(openclaw_bin: Path) -> Path:
    """Node 24 from the OpenClaw install."""
    return openclaw_bin / "node"


def _fail_safe(node: Path, policy: str, tool: str = CODE) -> Any:
    event = json.dumps({"toolName": tool, "params": json.loads(ARGS), "runId": "r1"})
    return bridge_value(node, f"m.failSafe({policy}, new Map(), {event}, {{}}) ?? null")


def test_the_bridge_fail_safe_blocks_code_mode(node: Path) -> None:
    """The bridge's last resort and a policy file written before this rule both block it."""
    assert _fail_safe(node, "m.LAST_RESORT")["block"] is True
    stale = '{...m.LAST_RESORT, highRisk: ["exec"], highRiskDeferred: []}'
    assert _fail_safe(node, stale)["block"] is True
    allowed = '{...m.LAST_RESORT, allowOnLocal: ["tool_search_code"]}'
    assert _fail_safe(node, allowed) is None
    nothing = "{...m.LAST_RESORT, highRisk: [], highRiskDeferred: []}"
    assert _fail_safe(node, nothing) is None


def test_the_bridge_seeded_from_the_config_blocks_code_mode(node: Path, tmp_path: Path) -> None:
    """No sidecar, no policy file: the config's lists decide, allowOnLocal included."""
    for allow, blocked in (([], True), ([CODE], False)):
        config = {
            "mode": "plugin",
            "tiers": {"local": ["fakelocal"]},
            "tools": {"allowOnLocal": allow},
            "sidecar": {"command": [str(tmp_path / "missing")]},
        }
        start = {"runId": "r1", "callId": "c", "provider": "fakelocal", "model": "m"}
        steps = [
            {"hook": "model_call_started", "event": start, "ctx": {}},
            tool_step("r1", CODE, json.loads(ARGS)),
        ]
        spec = {"mode": "full", "config": config, "steps": steps}
        out = run_bridge(node, tmp_path, spec)["out"]
        assert (out[1] is not None and out[1]["block"]) is blocked


# -- 2. OpenClaw's tool groups ---------------------------------------------------------------

#: The members of OpenClaw's ``group:fs`` that ours leaves out: here it means the writes
#: (design, "High-risk tools"), as reading files is harmless on the local tier.
FS_READS = frozenset({"ls", "read"})

#: One member of each group OpenClaw 2026.9.6 lists that the guard's groups missed.
NEW_MEMBERS = [
    ("group:runtime", "secrets"),
    ("group:nodes", "mobile_ui"),
    ("group:memory", "memory_get"),
    ("group:sessions", "sessions_spawn"),
    ("group:agents", "skill_workshop"),
    ("group:media", "pdf"),
    ("group:openclaw", "terminal"),
    ("group:openclaw", "secrets"),
]


@pytest.mark.parametrize(("group", "member"), NEW_MEMBERS)
def test_each_openclaw_group_expands_to_its_members(group: str, member: str) -> None:
    assert member in expand_tools([group])


def test_a_new_group_in_also_high_risk_blocks_its_tools() -> None:
    policy = high_risk_set(ToolSettings(also_high_risk=("group:memory",)))
    assert blocked_name("memory_get", "{}", policy) == "memory_get"
    assert blocked_name("tool_call", '{"id": "memory_search"}', policy) == "tool_call"


def test_group_runtime_keeps_bash_and_group_fs_keeps_its_documented_meaning() -> None:
    assert {"exec", "bash", "process", "code_execution", "secrets"} <= expand_tools(
        ["group:runtime"]
    )
    assert expand_tools(["group:fs"]) == {"write", "edit", "apply_patch"}


def test_the_bridge_expands_every_group_as_the_core(node: Path) -> None:
    """Every group, and names that are keys of a plain JS object (never a group or alias)."""
    names = [*TOOL_GROUPS, "constructor", "__proto__"]
    got = bridge_value(node, f"{json.dumps(names)}.map((n) => m.expandTools([n]).map(String))")
    assert [sorted(g) for g in got] == [sorted(expand_tools([n])) for n in names]


_EXPORT = re.compile(r"\bCORE_TOOL_GROUPS as ([A-Za-z_$][\w$]*)")


@pytest.fixture(scope="module")
def core_tool_groups(openclaw_bin: Path) -> dict[str, list[str]]:
    """``CORE_TOOL_GROUPS`` of the installed OpenClaw, read by importing its tool-catalog
    module in Node (the export is renamed by the bundler: its export line says to what)."""
    dist = (openclaw_bin / "openclaw").resolve().parent / "dist"
    for module in sorted(dist.glob("tool-catalog-*.mjs")):
        match = _EXPORT.search(module.read_text(encoding="utf-8"))
        if match:
            break
    else:
        pytest.skip(f"no tool-catalog-*.mjs exporting CORE_TOOL_GROUPS in {dist}")
    script = (
        f"import({json.dumps(module.as_uri())})"
        f".then((m) => console.log(JSON.stringify(m[{json.dumps(match.group(1))}])))"
    )
    proc = subprocess.run(
        [str(openclaw_bin / "node"), "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    groups: dict[str, list[str]] = json.loads(proc.stdout)
    return groups


@pytest.mark.openclaw_e2e
def test_every_group_of_the_installed_openclaw_is_covered(
    core_tool_groups: dict[str, list[str]],
) -> None:
    """Each of OpenClaw's groups is ours too, never narrower (``group:fs`` aside: its reads)."""
    assert {"group:runtime", "group:fs", "group:openclaw", "group:sessions"} <= set(
        core_tool_groups
    )
    missing = {
        group: sorted(
            set(members) - expand_tools([group]) - (FS_READS if group == "group:fs" else set())
        )
        for group, members in core_tool_groups.items()
    }
    assert {group: gone for group, gone in missing.items() if gone} == {}
    assert set(core_tool_groups["group:fs"]) >= FS_READS  # else the exception is stale


# -- 3. Operator-written tool lists ----------------------------------------------------------

BLOCK = "plugins.entries.openclaw-failover.config"
LIST_KEYS = ("highRisk", "highRiskDeferred", "alsoHighRisk", "allowOnLocal")


def test_a_hyphenated_high_risk_name_blocks_the_tool_openclaw_runs() -> None:
    """OpenClaw runs ``apply_patch`` for ``apply-patch``: a list naming either blocks both."""
    policy = high_risk_set(ToolSettings(high_risk=("Apply-Patch",), high_risk_deferred=()))
    assert blocked_name("apply_patch", "{}", policy) == "apply_patch"
    assert blocked_name("tool_call", '{"id": "apply_patch"}', policy) == "tool_call"
    _, removed = filter_tools(_offer("read", "apply_patch"), policy)
    assert removed == ("apply_patch",)
    also = high_risk_set(ToolSettings(also_high_risk=("Memory-Get",)))
    assert blocked_name("memory_get", "{}", also) == "memory_get"


def test_a_hyphenated_allow_on_local_name_allows_the_tool() -> None:
    policy = high_risk_set(ToolSettings(allow_on_local=("apply-patch", "Tool-Search-Code")))
    assert blocked_name("apply_patch", "{}", policy) is None
    assert blocked_name(CODE, ARGS, policy) is None
    assert "write" in policy


def test_the_bridge_reads_operator_names_as_the_core(node: Path) -> None:
    names = ["Apply-Patch", " EXEC ", "Group:Runtime", "toString", "Tool-Search-Code"]
    got = bridge_value(node, f"{json.dumps(names)}.map((n) => m.expandTools([n]).map(String))")
    assert [sorted(g) for g in got] == [sorted(expand_tools([n])) for n in names]


def _with_tools(tools: dict[str, Any]) -> dict[str, Any]:
    doc = base_openclaw()
    doc["plugins"]["entries"]["openclaw-failover"]["config"]["tools"] = tools
    return doc


def _tool_findings(result: Any) -> list[Any]:
    return [p for p in result.problems if p.rule.startswith("tools.")]


@pytest.mark.parametrize(
    "entry", ["exec*", "*", "ex?c", "functions.exec", "openclaw:core:exec", "ex ec", "e\u00e9"]
)
@pytest.mark.parametrize("key", LIST_KEYS)
def test_config_refuses_a_name_openclaw_tools_cannot_have(
    load_doc: Callable[..., LoadResult], key: str, entry: str
) -> None:
    result = load_doc(_with_tools({key: ["exec", entry]}), name="openclaw.json")
    assert result.table is None
    (problem,) = _tool_findings(result)
    assert (problem.rule, problem.path, problem.severity) == (
        "tools.invalid-name",
        f"{BLOCK}.tools.{key}[1]",
        "error",
    )
    assert repr(entry) in problem.found
    assert "letters, digits, '_' or '-'" in problem.expected
    if "*" in entry or "?" in entry:
        assert "wildcard" in problem.found
        assert "no wildcards" in problem.expected


@pytest.mark.parametrize("entry", ["group:nope", "group:plugins", "Group:Runtimes"])
def test_config_refuses_an_unknown_group(load_doc: Callable[..., LoadResult], entry: str) -> None:
    result = load_doc(_with_tools({"alsoHighRisk": [entry]}), name="openclaw.json")
    assert result.table is None
    (problem,) = _tool_findings(result)
    assert (problem.rule, problem.path, problem.severity) == (
        "tools.unknown-group",
        f"{BLOCK}.tools.alsoHighRisk[0]",
        "error",
    )
    assert repr(entry) in problem.found
    assert "group:runtime" in problem.expected
    assert "group:openclaw" in problem.expected


def test_config_accepts_names_as_openclaw_spells_them(
    load_doc: Callable[..., LoadResult],
) -> None:
    tools = {
        "highRisk": ["exec", "Apply-Patch", "GROUP:WEB", " group:runtime "],
        "alsoHighRisk": ["mcp-server_tool2", "group:openclaw"],
        "allowOnLocal": ["tool_search_code", "group:memory"],
    }
    result = load_doc(_with_tools(tools), name="openclaw.json")
    assert _tool_findings(result) == []
    assert result.table is not None
    assert "apply_patch" in high_risk_set(result.table.settings.tools)


def test_a_standalone_file_is_checked_too(load_doc: Callable[..., LoadResult]) -> None:
    doc = base_standalone()
    doc["failover"] = {"tools": {"allowOnLocal": ["exec*"]}}
    (problem,) = _tool_findings(load_doc(doc))
    assert problem.path == "failover.tools.allowOnLocal[0]"
