"""Real OpenClaw 2026.9.6 loads the bridge: linked install, runtime inspection, CLI, config check.

The turns in plugin mode (steering, the tool guard, the fail-safe) are in the install/e2e tests;
here we only prove OpenClaw accepts and loads what this package ships.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry

pytestmark = [pytest.mark.openclaw_e2e, pytest.mark.slow]

BRIDGE = Path(__file__).resolve().parents[1] / "openclaw_failover" / "bridge"


def link_bridge(home: OpenClawHome, plugin_config: dict[str, Any]) -> None:
    """Install a copy of the bridge with --link, then set its config and hook permission."""
    bridge = home.root / "bridge"
    shutil.copytree(BRIDGE, bridge)
    home.write_config(
        home.base_config(
            {"fakeprimary": fake_provider_entry("http://127.0.0.1:9/v1")},
            primary="fakeprimary/fake-model",
        )
    )
    installed = home.run_cli(
        ["plugins", "install", "--link", str(bridge), "--force", "--accept-capabilities"]
    )
    assert installed.rc == 0, installed.stderr[-2000:]
    config = home.read_config()
    entry = config["plugins"]["entries"]["openclaw-failover"]
    entry["config"] = plugin_config
    entry["hooks"] = {"allowConversationAccess": True}
    home.write_config(config)


def sidecar_command() -> list[str]:
    """The sidecar as this interpreter runs it (no PATH lookup needed)."""
    return [sys.executable, "-m", "openclaw_failover", "sidecar"]


def test_bridge_loads_in_plugin_mode(openclaw_home: OpenClawHome) -> None:
    """OpenClaw validates the config and loads the bridge with its hooks, tool and CLI root."""
    link_bridge(
        openclaw_home,
        {"mode": "plugin", "sidecar": {"command": sidecar_command(), "timeoutMs": 2000}},
    )
    valid = openclaw_home.config_validate()
    assert valid.rc == 0, valid.stdout + valid.stderr
    inspect = openclaw_home.run_cli(
        ["plugins", "inspect", "openclaw-failover", "--runtime", "--json"]
    )
    assert inspect.rc == 0, inspect.stderr[-2000:]
    report = inspect.json()
    assert report["plugin"]["status"] == "loaded"
    assert report["plugin"]["toolNames"] == ["failover_status"]
    assert report["diagnostics"] == []
    hooks = {h["name"] for h in report["typedHooks"]}
    assert hooks == {
        "agent_end",
        "before_model_resolve",
        "before_prompt_build",
        "before_tool_call",
        "model_call_ended",
        "model_call_started",
    }
    assert report["cliCommands"] == ["failover"]


def test_bridge_in_provider_mode_has_no_hooks(openclaw_home: OpenClawHome) -> None:
    """In provider mode the loaded bridge registers no typed hooks, only the tool and the CLI."""
    link_bridge(openclaw_home, {"mode": "provider", "sidecar": {"command": sidecar_command()}})
    report = openclaw_home.run_cli(
        ["plugins", "inspect", "openclaw-failover", "--runtime", "--json"]
    ).json()
    assert report["plugin"]["status"] == "loaded"
    assert report["typedHooks"] == []
    assert report["plugin"]["toolNames"] == ["failover_status"]


def test_openclaw_failover_cli_lists_the_commands(openclaw_home: OpenClawHome) -> None:
    """`openclaw failover` lists the plugin's commands and `status` runs the Python CLI."""
    from openclaw_failover.plugin import CLI_COMMANDS

    link_bridge(openclaw_home, {"mode": "provider", "sidecar": {"command": sidecar_command()}})
    shown = openclaw_home.run_cli(["failover", "--help"])
    assert shown.rc == 0, shown.stderr[-2000:]
    for command in CLI_COMMANDS:
        assert command.path[0] in shown.stdout
    status = openclaw_home.run_cli(["failover", "status"])
    assert status.rc == 0, status.stdout[-2000:] + status.stderr[-2000:]
    assert "fakeprimary/fake-model" in status.stdout


def test_manifest_schema_rejects_an_unknown_plugin_key(openclaw_home: OpenClawHome) -> None:
    """OpenClaw checks the plugin block against the manifest's configSchema (our schema)."""
    link_bridge(openclaw_home, {"mode": "plugin", "notAKey": 1})
    checked = openclaw_home.config_validate()
    assert checked.rc != 0
    assert "notAKey" in json.dumps([checked.stdout, checked.stderr])


def plugin_mode_home(home: OpenClawHome, upstream_url: str, *, local: bool) -> dict[str, Any]:
    """OpenClaw with one fake provider, the bridge linked in plugin mode and a live sidecar.

    With ``local``, the provider is declared local-tier in the plugin block (``tiers.local``).
    """
    plugin_config: dict[str, Any] = {
        "mode": "plugin",
        "sidecar": {"command": sidecar_command(), "timeoutMs": 5000},
    }
    if local:
        plugin_config["tiers"] = {"local": ["fakelocal"]}
    link_bridge(home, plugin_config)
    config = home.read_config()
    name = "fakelocal" if local else "fakeprimary"
    config["models"]["providers"] = {
        name: fake_provider_entry(upstream_url, api_key="${FAKE_UPSTREAM_KEY}")
    }
    config["agents"]["defaults"]["model"] = {"primary": f"{name}/fake-model", "fallbacks": []}
    home.write_config(config)
    home.extra_env["FAKE_UPSTREAM_KEY"] = "sk-test-upstream"
    return config


def tool_results(fake: Any) -> list[str]:
    """The tool-result messages OpenClaw sent back to the fake model."""
    texts = []
    for request in fake.chat_requests:
        for message in request.json.get("messages", []):
            if message.get("role") == "tool":
                content = message.get("content")
                texts.append(content if isinstance(content, str) else json.dumps(content))
    return texts


def test_status_tool_runs_through_the_sidecar(openclaw_home: OpenClawHome) -> None:
    """A failover_status call reaches the Python sidecar and its answer reaches the model."""
    from openclaw_failover.testing import Answer, FakeOpenAIServer, Ok, tool_reply

    with FakeOpenAIServer() as fake:
        fake.script(tool_reply("failover_status", {}), Ok(Answer(text="Status read.")))
        plugin_mode_home(openclaw_home, fake.url, local=False)
        turn = openclaw_home.run_turn("what tier are you on?", "status-1")
        print(f"turn wall time: {turn.wall_s:.1f}s")
        assert turn.rc == 0, turn.stderr[-3000:]
        results = tool_results(fake)
    assert any("openclaw-failover, route auto" in r for r in results), results
    assert "sk-test-upstream" not in " ".join(results)


def offered_tools(request: Any) -> set[str]:
    """The tool names one chat request offered the model."""
    return {t["function"]["name"] for t in request.json.get("tools", []) if "function" in t}


def test_local_tier_offer_leaves_out_high_risk_tools(openclaw_home: OpenClawHome) -> None:
    """before_prompt_build's toolsAllow: a local-tier model is never offered exec or write."""
    from openclaw_failover.testing import Answer, FakeOpenAIServer, Ok, tool_reply

    target = openclaw_home.workspace / "probe.txt"
    with FakeOpenAIServer() as fake:
        fake.script(
            tool_reply("exec", {"command": f"echo probe > {target}"}), Ok(Answer(text="Done."))
        )
        plugin_mode_home(openclaw_home, fake.url, local=True)
        turn = openclaw_home.run_turn("make the file", "local-1")
        print(f"turn wall time: {turn.wall_s:.1f}s; tool results: {tool_results(fake)}")
        assert turn.rc == 0, turn.stderr[-3000:]
        offered = offered_tools(fake.chat_requests[0])
    assert not target.exists()
    assert "read" in offered
    assert not offered & {"exec", "write", "edit", "apply_patch", "process"}


def test_exec_is_blocked_on_the_local_tier(openclaw_home: OpenClawHome) -> None:
    """Without conversation access (no toolsAllow), before_tool_call still blocks exec locally."""
    from openclaw_failover.testing import Answer, FakeOpenAIServer, Ok, tool_reply

    target = openclaw_home.workspace / "probe.txt"
    with FakeOpenAIServer() as fake:
        fake.script(
            tool_reply("exec", {"command": f"echo probe > {target}"}), Ok(Answer(text="Done."))
        )
        config = plugin_mode_home(openclaw_home, fake.url, local=True)
        config["plugins"]["entries"]["openclaw-failover"]["hooks"] = {}
        openclaw_home.write_config(config)
        turn = openclaw_home.run_turn("make the file", "local-2")
        print(f"turn wall time: {turn.wall_s:.1f}s")
        assert turn.rc == 0, turn.stderr[-3000:]
        assert "exec" in offered_tools(fake.chat_requests[0])
        results = tool_results(fake)
    assert not target.exists()
    assert any("openclaw-failover blocked exec" in r for r in results), results


def audit_lines(home: OpenClawHome, *, until: Any, within_s: float = 10.0) -> list[dict[str, Any]]:
    """The plugin's audit lines, polled (the sidecar flushes as OpenClaw exits) until ``until``."""
    import time

    path = home.state_dir / "failover" / "audit.jsonl"
    deadline = time.monotonic() + within_s
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text(encoding="utf-8")
            lines = [json.loads(x) for x in text.splitlines() if x.strip()]
            if until(lines):
                break
        time.sleep(0.2)
    return lines


def seed_cooling(home: OpenClawHome, ref: str) -> None:
    """Mark ``ref`` as cooling for ten minutes in the failover state OpenClaw's sidecar reads."""
    import asyncio
    import time

    from openclaw_failover._ports import Health
    from openclaw_failover.stores.file import FileStateStore

    async def seed() -> None:
        store = FileStateStore(home.state_dir / "failover")
        now = time.time()
        cooling = Health(
            cooldown_until=now + 600, cooldown_reason="rate_limit", last_failure_at=now
        )
        await store.update(f"model:{ref}", lambda _old: cooling)
        await store.aclose()

    asyncio.run(seed())


@pytest.mark.timeout(600)  # two real turns; slow when the machine is busy
def test_steers_past_a_cooling_primary_but_not_a_strict_pick(openclaw_home: OpenClawHome) -> None:
    """A cooling primary gets no request; with --model naming it, the user's pick stands."""
    from openclaw_failover.testing import FakeOpenAIServer

    with FakeOpenAIServer() as primary, FakeOpenAIServer() as backup:
        plugin_mode_home(openclaw_home, primary.url, local=False)
        config = openclaw_home.read_config()
        providers = config["models"]["providers"]
        providers["fakebackup"] = fake_provider_entry(backup.url, api_key="${FAKE_UPSTREAM_KEY}")
        config["agents"]["defaults"]["model"]["fallbacks"] = ["fakebackup/fake-model"]
        openclaw_home.write_config(config)
        seed_cooling(openclaw_home, "fakeprimary/fake-model")

        steered = openclaw_home.run_turn("hi", "steer-1")
        print(f"steered turn: {steered.wall_s:.1f}s")
        assert steered.rc == 0, steered.stderr[-3000:]
        assert (len(primary.chat_requests), len(backup.chat_requests)) == (0, 1)
        assert steered.execution_trace.get("winnerProvider") == "fakebackup"
        lines = audit_lines(
            openclaw_home, until=lambda ls: any(x["event"] == "attempt" for x in ls)
        )
        skip = next(x for x in lines if x["event"] == "skip")
        assert (skip["provider"], skip["reason"]) == ("fakeprimary", "rate_limit")
        attempt = next(x for x in lines if x["event"] == "attempt")
        assert (attempt["provider"], attempt["outcome"]) == ("fakebackup", "completed")
        assert attempt["session_id"]

        picked = openclaw_home.run_turn(
            "hi", "steer-2", extra_args=["--model", "fakeprimary/fake-model"]
        )
        assert picked.rc == 0, picked.stderr[-3000:]
        assert len(primary.chat_requests) == 1


def test_dead_sidecar_still_blocks_exec_on_the_local_tier(openclaw_home: OpenClawHome) -> None:
    """The sidecar exits at once: the bridge's own fail-safe blocks exec for the local model."""
    from openclaw_failover.testing import Answer, FakeOpenAIServer, Ok, tool_reply

    target = openclaw_home.workspace / "probe.txt"
    with FakeOpenAIServer() as fake:
        fake.script(
            tool_reply("exec", {"command": f"echo probe > {target}"}), Ok(Answer(text="Done."))
        )
        config = plugin_mode_home(openclaw_home, fake.url, local=True)
        entry = config["plugins"]["entries"]["openclaw-failover"]
        entry["config"]["sidecar"]["command"] = [sys.executable, "-c", "raise SystemExit(0)"]
        entry["hooks"] = {}
        openclaw_home.write_config(config)
        turn = openclaw_home.run_turn("make the file", "dead-1")
        assert turn.rc == 0, turn.stderr[-3000:]
        results = tool_results(fake)
    assert not target.exists()
    assert any("fail safe" in r for r in results), results
