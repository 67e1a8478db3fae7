"""The JS bridge under Node 24 with a fake host API and a fake sidecar process.

Checks: the manifest, the CLI table shared with plugin.py, no sidecar outside full registration
mode, forwarding without prompt text, the strict-pick mark, and the fail-safe tool guard when the
sidecar hangs or is missing. Every Node run is bounded and must exit by itself (the sidecar never
keeps OpenClaw alive).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover._install import bridge_dir

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = ROOT / "openclaw_failover" / "bridge"

FAKE_SIDECAR = r"""
import json, os, sys
mode, log = sys.argv[1], sys.argv[2]
open(log + ".started", "w").close()
policy = {"highRisk": ["exec", "write"], "highRiskDeferred": ["terminal"],
          "localCandidates": [{"provider": "ollama", "model": "qwen3:8b"}],
          "localProviders": ["ollama"], "chainHasLocal": True, "toolsAllow": ["read"]}
print(json.dumps({"id": 0, "ok": True, "result": {"policy": policy}}), flush=True)
for line in sys.stdin:
    with open(log, "a") as f:
        f.write(line)
    if mode == "hang":
        continue
    if mode == "die-once" and not os.path.exists(log + ".died"):
        open(log + ".died", "w").close()
        sys.exit(3)  # crashes on its first request; a restarted one answers
    req = json.loads(line)
    if req.get("op") == "tool":
        result = {"content": [{"type": "text", "text": "status from sidecar"}], "details": {}}
    elif req.get("hook") == "before_tool_call":
        result = {"block": True, "blockReason": "from sidecar"}
    else:
        result = None
    print(json.dumps({"id": req["id"], "ok": True, "result": result}), flush=True)
"""

HARNESS = r"""
const [, , bridgeUrl, specPath] = process.argv;
const spec = JSON.parse((await import("node:fs")).readFileSync(specPath, "utf8"));
if (spec.argv) process.argv.push(...spec.argv);
const { default: bridge } = await import(bridgeUrl);
const hooks = {}; let tool = null; let cli = null; const warnings = [];
bridge.register({
  id: "openclaw-failover", registrationMode: spec.mode, pluginConfig: spec.config,
  config: spec.hostConfig ?? {},
  logger: { info() {}, warn(m) { warnings.push(m); }, error() {} },
  on(name, fn) { hooks[name] = fn; }, registerTool(t) { tool = t; },
  registerCli(fn, opts) { cli = opts; }, registerService() {}, runtime: {},
});
const out = [];
for (const step of spec.steps) {
  if (step.wait) await new Promise((r) => setTimeout(r, step.wait));
  else if (step.tool) out.push(await tool.execute("tc-1", {}));
  else out.push((await hooks[step.hook](step.event, step.ctx)) ?? null);
}
console.log(JSON.stringify({ hooks: Object.keys(hooks).sort(), tool: tool?.name ?? null,
  descriptors: cli?.descriptors ?? null, out, warnings }));
"""


@pytest.fixture(scope="module")
def node(openclaw_bin: Path) -> Path:
    """Node 24 from the OpenClaw install."""
    return openclaw_bin / "node"


def run_bridge(node: Path, tmp: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Run the harness with ``spec``; it must exit by itself within 20 s."""
    (tmp / "harness.mjs").write_text(HARNESS, encoding="utf-8")
    (tmp / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        [
            str(node),
            str(tmp / "harness.mjs"),
            (BRIDGE / "index.js").as_uri(),
            str(tmp / "spec.json"),
        ],
        capture_output=True,
        text=True,
        timeout=20,
        env={"PATH": "/usr/bin:/bin", "OPENCLAW_STATE_DIR": str(tmp / "state")},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bridge_value(node: Path, expression: str) -> Any:
    """The JSON value of ``expression`` over the bridge module ``m`` (its exports), in Node."""
    url = json.dumps((BRIDGE / "index.js").as_uri())
    script = f"import({url}).then(m => console.log(JSON.stringify({expression})))"
    proc = subprocess.run(
        [str(node), "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return json.loads(proc.stdout)


def sidecar_config(tmp: Path, mode: str, *, plugin_mode: str = "plugin") -> dict[str, Any]:
    """A plugin config whose sidecar command is the fake sidecar in ``mode``."""
    script = tmp / "fake_sidecar.py"
    script.write_text(FAKE_SIDECAR, encoding="utf-8")
    command = [sys.executable, str(script), mode, str(tmp / "requests.jsonl")]
    return {"mode": plugin_mode, "sidecar": {"command": command, "timeoutMs": 400}}


def started(node_run: dict[str, Any], tmp: Path) -> list[dict[str, Any]]:
    """The requests the fake sidecar received."""
    del node_run
    path = tmp / "requests.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(x) for x in lines]


START_LOCAL = {"runId": "r1", "callId": "c1", "provider": "ollama", "model": "qwen3:8b"}
START_CLOUD = {"runId": "r2", "callId": "c2", "provider": "anthropic", "model": "claude"}


def tool_step(run: str, tool: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A before_tool_call step shaped like OpenClaw 2026.9.6's (no model in ctx)."""
    event = {"toolName": tool, "params": params or {}, "runId": run, "toolCallId": "t"}
    ctx = {"runId": run, "toolName": tool, "toolCallId": "t", "requester": {"senderIsOwner": True}}
    return {"hook": "before_tool_call", "event": event, "ctx": ctx}


def test_manifest_declares_id_tool_cli_and_schema() -> None:
    """The manifest has the plugin id, the status tool contract, the CLI root and the schema."""
    manifest = json.loads((BRIDGE / "openclaw.plugin.json").read_text(encoding="utf-8"))
    assert manifest["id"] == "openclaw-failover"
    assert manifest["contracts"]["tools"] == ["failover_status"]
    assert manifest["cliCommands"][0]["name"] == "failover"
    assert manifest["activation"] == {"onStartup": True}
    assert isinstance(manifest["configSchema"], dict)
    package = json.loads((BRIDGE / "package.json").read_text(encoding="utf-8"))
    assert package["openclaw"]["extensions"] == ["./index.js"]
    assert package["type"] == "module"
    assert "dependencies" not in package


def test_installed_bridge_holds_every_module_it_imports() -> None:
    """The folder install links for OpenClaw (bridge_dir) holds the entry and every file its
    modules import (toolguard.js), and the wheel's package data ships each of them."""
    folder = bridge_dir().resolve()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["openclaw_failover"]
    shipped = {p.resolve() for pattern in patterns for p in folder.parent.glob(pattern)}
    package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    needed = {(folder / entry).resolve() for entry in package["openclaw"]["extensions"]}
    for module in sorted(folder.rglob("*.js")):
        text = module.read_text(encoding="utf-8")
        needed |= {
            (module.parent / rel).resolve() for rel in re.findall(r'from\s+"(\.\.?/[^"]+)"', text)
        }
    assert folder / "toolguard.js" in needed
    assert sorted(str(p) for p in needed if not p.is_file() or p not in shipped) == []


def test_manifest_config_schema_is_the_plugin_block_schema() -> None:
    """configSchema is generated from schemas/plugin-config.schema.json and is up to date."""
    spec = importlib.util.spec_from_file_location("sync", ROOT / "scripts/sync-bridge-manifest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    schema = json.loads((ROOT / "schemas/plugin-config.schema.json").read_text(encoding="utf-8"))
    manifest = json.loads((BRIDGE / "openclaw.plugin.json").read_text(encoding="utf-8"))
    assert manifest["configSchema"] == schema
    assert module.main(["--check"]) == 0


def test_discovery_mode_starts_no_sidecar(node: Path, tmp_path: Path) -> None:
    """Outside full registration mode the bridge registers but never starts the sidecar."""
    config = sidecar_config(tmp_path, "echo")
    result = run_bridge(node, tmp_path, {"mode": "discovery", "config": config, "steps": []})
    assert result["tool"] == "failover_status"
    assert result["descriptors"][0]["name"] == "failover"
    assert "before_tool_call" in result["hooks"]
    assert not (tmp_path / "requests.jsonl.started").exists()


def test_provider_mode_registers_no_model_hooks(node: Path, tmp_path: Path) -> None:
    """In provider mode the bridge only offers the tool and the CLI (the proxy steers)."""
    config = sidecar_config(tmp_path, "echo", plugin_mode="provider")
    result = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": [{"tool": 1}]})
    assert result["hooks"] == []
    assert result["out"][0]["content"][0]["text"] == "status from sidecar"


def test_forwards_hooks_without_prompt_text(node: Path, tmp_path: Path) -> None:
    """Hooks reach the sidecar and its answer is applied; prompt text is never forwarded."""
    config = sidecar_config(tmp_path, "echo")
    ctx = {"runId": "r1", "modelProviderId": "anthropic", "modelId": "claude", "agentId": "main"}
    host_config = {"models": {"providers": {"anthropic": {"apiKey": "sk-ant-HOST-CONFIG-KEY"}}}}
    steps = [
        {
            "hook": "before_model_resolve",
            "event": {"prompt": "SECRET PROMPT"},
            "ctx": {**ctx, "config": host_config},
        },
        {"hook": "model_call_started", "event": START_CLOUD, "ctx": ctx},
        tool_step("r2", "exec", {"command": "ls"}),
    ]
    result = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})
    assert result["out"][2] == {"block": True, "blockReason": "from sidecar"}
    requests = started(result, tmp_path)
    assert [r.get("hook") for r in requests] == [
        "before_model_resolve",
        "model_call_started",
        "before_tool_call",
    ]
    assert "SECRET PROMPT" not in json.dumps(requests)
    assert "sk-ant-HOST-CONFIG-KEY" not in json.dumps(requests)  # the ctx's copy of the config
    assert requests[0]["ctx"]["openclawFailover"] == {"strictPick": False}


def test_forwards_agent_end_as_the_runs_verdict_only(node: Path, tmp_path: Path) -> None:
    """agent_end reaches the sidecar with run id, success and duration; its messages, error
    text and the ctx's host config (provider keys) and prompt context do not."""
    config = sidecar_config(tmp_path, "echo")
    event = {
        "runId": "r1",
        "messages": [{"role": "user", "content": "SECRET PROMPT"}],
        "success": False,
        "error": "SECRET ERROR",
        "durationMs": 1200,
    }
    ctx = {
        "runId": "r1",
        "sessionId": "s1",
        "modelProviderId": "anthropic",
        "modelId": "claude",
        "trigger": "user",
        "trace": {"traceId": "t1"},
        "config": {"models": {"providers": {"a": {"apiKey": "sk-SECRET-KEY"}}}},
        "foregroundPromptContext": {"prompt": "SECRET CONTEXT"},
    }
    steps = [{"hook": "agent_end", "event": event, "ctx": ctx}]
    result = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})
    assert "agent_end" in result["hooks"]
    [request] = started(result, tmp_path)
    assert request["hook"] == "agent_end"
    assert request["event"] == {"runId": "r1", "success": False, "durationMs": 1200}
    assert request["ctx"] == {
        "runId": "r1",
        "sessionId": "s1",
        "modelProviderId": "anthropic",
        "modelId": "claude",
        "trigger": "user",
        "trace": {"traceId": "t1"},
    }
    assert "SECRET" not in json.dumps(request)


def test_marks_a_strict_model_pick(node: Path, tmp_path: Path) -> None:
    """A run started with --model is marked strictPick so the plugin leaves it alone."""
    config = sidecar_config(tmp_path, "echo")
    ctx = {"runId": "r1", "modelProviderId": "anthropic", "modelId": "claude"}
    steps = [{"hook": "before_model_resolve", "event": {"prompt": "hi"}, "ctx": ctx}]
    spec = {"mode": "full", "config": config, "steps": steps, "argv": ["--model", "a/b"]}
    result = run_bridge(node, tmp_path, spec)
    assert started(result, tmp_path)[0]["ctx"]["openclawFailover"] == {"strictPick": True}


def test_fail_safe_when_sidecar_hangs(node: Path, tmp_path: Path) -> None:
    """A silent sidecar: high-risk tools are blocked on local and unknown runs, others pass."""
    config = sidecar_config(tmp_path, "hang")
    steps = [
        {"wait": 500},
        {"hook": "model_call_started", "event": START_LOCAL, "ctx": {}},
        {"hook": "model_call_started", "event": START_CLOUD, "ctx": {}},
        tool_step("r1", "exec", {"command": "touch x"}),
        tool_step("r1", "read", {"path": "a"}),
        tool_step("r2", "exec", {"command": "touch x"}),
        tool_step("r9", "write", {"path": "a", "content": "b"}),
        tool_step("r1", "tool_call", {"id": "terminal", "args": {}}),
    ]
    result = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})
    local_exec, local_read, cloud_exec, unknown_write, deferred = result["out"][2:]
    assert local_exec["block"] is True
    assert "fail safe" in local_exec["blockReason"]
    assert local_read is None
    assert cloud_exec is None
    assert unknown_write["block"] is True
    assert deferred["block"] is True


def test_fail_safe_with_missing_sidecar_uses_policy_file(node: Path, tmp_path: Path) -> None:
    """No sidecar at all: the policy file left by an earlier sidecar still guards local runs."""
    policy_dir = tmp_path / "state" / "failover"
    policy_dir.mkdir(parents=True)
    policy = {
        "highRisk": ["apply_patch"],
        "highRiskDeferred": [],
        "localCandidates": [],
        "localProviders": ["llamacpp"],
        "chainHasLocal": True,
    }
    (policy_dir / "bridge-policy.json").write_text(json.dumps(policy), encoding="utf-8")
    config = {"mode": "plugin", "sidecar": {"command": [str(tmp_path / "missing")]}}
    start = {"runId": "r1", "callId": "c", "provider": "llamacpp", "model": "smollm2"}
    steps = [
        {"hook": "model_call_started", "event": start, "ctx": {}},
        tool_step("r1", "apply_patch", {"input": "x"}),
        tool_step("r1", "exec", {"command": "ls"}),
        {"tool": 1},
    ]
    result = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})
    assert result["out"][1]["block"] is True
    assert result["out"][2] is None  # the policy file's list rules, not a built-in one
    assert "unavailable" in result["out"][3]["content"][0]["text"]
    assert any("sidecar" in w for w in result["warnings"])


def test_fail_safe_without_any_policy_reads_local_tiers_from_config(
    node: Path, tmp_path: Path
) -> None:
    """No sidecar and no policy file: tiers.local and Ollama-API providers still count as local."""
    config = {
        "mode": "plugin",
        "tiers": {"local": ["fakelocal", "llamacpp/smollm2"]},
        "sidecar": {"command": [str(tmp_path / "missing")]},
    }
    host = {"models": {"providers": {"box": {"api": "ollama"}, "cloud": {"api": "openai"}}}}
    runs = [("r1", "fakelocal", "m"), ("r2", "llamacpp", "smollm2"), ("r3", "box", "q")]
    runs += [("r4", "cloud", "gpt")]
    steps: list[dict[str, Any]] = [
        {"hook": "model_call_started", "event": {"runId": r, "provider": p, "model": m}, "ctx": {}}
        for r, p, m in runs
    ]
    steps += [tool_step(r, "exec", {"command": "ls"}) for r, _, _ in runs]
    spec = {"mode": "full", "config": config, "hostConfig": host, "steps": steps}
    out = run_bridge(node, tmp_path, spec)["out"][len(runs) :]
    assert [o is not None and o["block"] for o in out] == [True, True, True, False]


def test_cli_table_matches_the_python_plugin(node: Path) -> None:
    """The bridge's `openclaw failover` commands are exactly plugin.py's CLI_COMMANDS."""
    from openclaw_failover.plugin import CLI_COMMANDS

    table = bridge_value(node, "m.CLI")
    assert [(tuple(p), d) for p, d in table] == [(c.path, c.description) for c in CLI_COMMANDS]
    assert all(c.argv == c.path for c in CLI_COMMANDS)


def test_last_resort_list_is_the_designs_whole_list(node: Path) -> None:
    """With no sidecar ever heard from, the bridge blocks the same tools as the Python core:
    its built-in list is DEFAULT_HIGH_RISK_TOOLS and the deferred ones, not a subset."""
    from openclaw_failover._model import DEFAULT_HIGH_RISK_DEFERRED, DEFAULT_HIGH_RISK_TOOLS

    last_resort = bridge_value(node, "m.LAST_RESORT")
    assert last_resort["highRisk"] == list(DEFAULT_HIGH_RISK_TOOLS)
    assert last_resort["highRiskDeferred"] == list(DEFAULT_HIGH_RISK_DEFERRED)


def test_fail_safe_with_no_policy_blocks_every_high_risk_tool_and_target(
    node: Path, tmp_path: Path
) -> None:
    """No sidecar and no policy file, a local run: every tool of the design's list is off,
    the config's own additions too, and a tool_call naming one by catalog id, by another
    selector or through args.id is refused as OpenClaw would resolve it."""
    config = {
        "mode": "plugin",
        "tiers": {"local": ["fakelocal"]},
        "tools": {"alsoHighRisk": ["web_fetch"], "allowOnLocal": ["message"]},
        "sidecar": {"command": [str(tmp_path / "missing")]},
    }
    start = {"runId": "r1", "callId": "c", "provider": "fakelocal", "model": "m"}
    calls: list[tuple[str, dict[str, Any], bool]] = [
        ("openclaw", {"message": "x"}, True),
        ("sessions_spawn", {}, True),
        ("web_fetch", {"url": "x"}, True),
        ("message", {"text": "x"}, False),  # allowOnLocal
        ("read", {"path": "x"}, False),
        ("tool_call", {"id": "browser"}, True),
        ("tool_call", {"id": "openclaw:core:terminal", "args": {}}, True),
        ("tool_call", {"id": "no-such", "name": "exec"}, True),
        ("tool_call", {"id": "no-such", "toolId": "file_write"}, True),
        ("tool_call", {"args": {"id": "secrets"}}, True),
        ("tool_call", {}, True),  # no readable target: fail safe
        ("tool_call", {"id": "openclaw:core:web_search"}, False),
    ]
    steps = [{"hook": "model_call_started", "event": start, "ctx": {}}]
    steps += [tool_step("r1", name, params) for name, params, _ in calls]
    out = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})["out"]
    blocked = [o is not None and o["block"] for o in out[1:]]
    assert blocked == [expected for _, _, expected in calls]


def test_the_bridge_finds_the_policy_file_where_python_writes_it(node: Path) -> None:
    """The bridge's state folder is the sidecar's: OPENCLAW_PROFILE, OPENCLAW_HOME and a ~ in
    state.directory resolve as config/_paths.py resolves them."""
    from openclaw_failover.config import resolve_state_dir

    cases = [
        ({}, {"HOME": "/h"}),
        ({}, {"HOME": "/h", "OPENCLAW_PROFILE": "work"}),
        ({}, {"HOME": "/h", "OPENCLAW_HOME": "/oc"}),
        ({}, {"HOME": "/h", "OPENCLAW_STATE_DIR": "/s"}),
        ({"state": {"directory": "~/mine"}}, {"HOME": "/h"}),
    ]
    resolved = bridge_value(node, f"{json.dumps(cases)}.map(([cfg, env]) => m.stateDir(cfg, env))")
    expected = [str(resolve_state_dir(env)) for cfg, env in cases[:4]] + ["/h/mine"]
    assert resolved == expected


def test_a_sidecar_that_died_is_started_again(node: Path, tmp_path: Path) -> None:
    """A sidecar that exits (a crash) is started again on a later call, at most every few
    seconds; until then the fail-safe guards, and afterwards the sidecar answers again."""
    config = sidecar_config(tmp_path, "die-once")
    steps = [
        {"wait": 500},
        {"hook": "model_call_started", "event": START_LOCAL, "ctx": {}},  # it dies on this
        {"wait": 300},
        tool_step("r1", "exec", {"command": "touch x"}),
        {"wait": 5200},
        tool_step("r1", "exec", {"command": "touch x"}),  # starts it again
        {"wait": 700},
        tool_step("r1", "exec", {"command": "touch x"}),
    ]
    result = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})
    before, _, after = result["out"][1:]
    assert "fail safe" in before["blockReason"]
    assert after["blockReason"] == "from sidecar"
    assert any("exited" in w for w in result["warnings"])


MANGLED = [
    "exec",
    "functions.exec",
    "tools/exec",
    "functions:exec",
    "functions_exec",
    "tools_write",
    "Apply-Patch",
    "  BASH  ",
    "\ufeffexec",
    "exec<|channel|>commentary",
    "\uff45\uff58\uff45\uff43",  # fullwidth letters
    "read",
    "functions.read",
    "tool_search",
    "web-fetch",
    "",
]


def test_bridge_reads_tool_names_as_the_python_guard_does(node: Path) -> None:
    """The fail-safe and the Python core see through the same spellings: nameForms and
    name_forms give the same forms for every mangled name a model may send. Only the forms
    that can name a tool count (``[a-z0-9_-]+``): the whole raw name is kept too, and the two
    languages trim slightly different characters (JS's trim takes a BOM, Python's strip not)."""
    from openclaw_failover._toolpolicy import name_forms

    def names(forms: list[str]) -> list[str]:
        return sorted(f for f in forms if re.fullmatch(r"[a-z0-9_-]+", f))

    got = bridge_value(node, f"{json.dumps(MANGLED)}.map(m.nameForms)")
    assert [names(f) for f in got] == [names(list(name_forms(name))) for name in MANGLED]
    assert names(got[MANGLED.index("functions.exec")]) == ["exec", "functions"]


def test_fail_safe_blocks_a_high_risk_tool_under_any_spelling(node: Path, tmp_path: Path) -> None:
    """No sidecar, a local run: functions.exec, tools/exec, Apply-Patch, a fullwidth exec and
    a tool_call aimed at functions.write are refused, by the policy's name of the tool (not
    the model's text); read under a namespace still runs."""
    config = {
        "mode": "plugin",
        "tiers": {"local": ["fakelocal"]},
        "sidecar": {"command": [str(tmp_path / "missing")]},
    }
    start = {"runId": "r1", "callId": "c", "provider": "fakelocal", "model": "m"}
    calls: list[tuple[str, dict[str, Any], str | None]] = [
        ("functions.exec", {}, "exec"),
        ("tools/exec", {}, "exec"),
        ("Apply-Patch", {}, "apply_patch"),
        ("\uff45\uff58\uff45\uff43 sk-secret", {}, "exec"),
        ("functions.tool_call", {"id": "functions.write"}, "tool_call"),
        ("functions.read", {"path": "x"}, None),
    ]
    steps = [{"hook": "model_call_started", "event": start, "ctx": {}}]
    steps += [tool_step("r1", name, params) for name, params, _ in calls]
    out = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})["out"]
    for (name, _, word), got in zip(calls, out[1:], strict=True):
        if word is None:
            assert got is None, name
        else:
            assert got["block"] is True, name
            assert got["blockReason"].startswith(f"openclaw-failover blocked {word}:"), name
            assert "sk-secret" not in got["blockReason"]


def test_fail_safe_reads_provider_ids_as_openclaw_spells_them_and_ignores_a_late_cloud_end(
    node: Path, tmp_path: Path
) -> None:
    """No sidecar: a local tier configured as MyOllama is local when OpenClaw reports it
    lower-cased, and a cloud call's end arriving after the run moved to the local tier does
    not move it back (exec stays blocked); a cloud run is left alone."""
    config = {
        "mode": "plugin",
        "tiers": {"local": ["MyOllama"]},
        "sidecar": {"command": [str(tmp_path / "missing")]},
    }
    local = {"runId": "r1", "callId": "c2", "provider": "myollama", "model": "qwen3"}
    late_cloud_end = {"runId": "r1", "callId": "c1", "provider": "anthropic", "model": "claude"}
    cloud = {"runId": "r2", "callId": "c3", "provider": "anthropic", "model": "claude"}
    steps = [
        {"hook": "model_call_started", "event": local, "ctx": {}},
        tool_step("r1", "exec"),
        {"hook": "model_call_ended", "event": late_cloud_end, "ctx": {}},
        tool_step("r1", "exec"),
        {"hook": "model_call_started", "event": cloud, "ctx": {}},
        tool_step("r2", "exec"),
    ]
    out = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})["out"]
    blocked = [o is not None and o["block"] for o in (out[1], out[3], out[5])]
    assert blocked == [True, True, False]


def test_bridge_groups_and_aliases_are_the_python_cores(node: Path) -> None:
    """The bridge expands tool groups and aliases with the core's own tables."""
    from openclaw_failover._toolpolicy import ALIASES, TOOL_GROUPS, expand_tools

    assert bridge_value(node, "m.GROUPS") == {k: list(v) for k, v in TOOL_GROUPS.items()}
    assert bridge_value(node, "m.ALIASES") == dict(ALIASES)
    names = ["group:runtime", "cron", "read"]
    assert sorted(bridge_value(node, f"m.expandTools({json.dumps(names)})")) == sorted(
        expand_tools(names)
    )


def test_fail_safe_seeded_from_the_config_expands_groups(node: Path, tmp_path: Path) -> None:
    """No sidecar and no policy file, a config listing its high-risk tools by group: bash and
    exec (group:runtime) are off on the local tier; allowOnLocal by group lets web tools run."""
    config = {
        "mode": "plugin",
        "tiers": {"local": ["fakelocal"]},
        "tools": {"highRisk": ["group:runtime", "group:web"], "allowOnLocal": ["group:web"]},
        "sidecar": {"command": [str(tmp_path / "missing")]},
    }
    start = {"runId": "r1", "callId": "c", "provider": "fakelocal", "model": "m"}
    calls = [("bash", True), ("exec", True), ("process", True), ("web_fetch", False)]
    steps = [{"hook": "model_call_started", "event": start, "ctx": {}}]
    steps += [tool_step("r1", name) for name, _ in calls]
    out = run_bridge(node, tmp_path, {"mode": "full", "config": config, "steps": steps})["out"]
    assert [o is not None and o["block"] for o in out[1:]] == [b for _, b in calls]
