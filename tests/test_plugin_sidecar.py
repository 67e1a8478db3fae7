"""The sidecar: registration per mode, the hello policy, the JSON-lines protocol and its errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from openclaw_failover._errors import StateStoreError
from openclaw_failover._model import StateSettings
from openclaw_failover._ports import Health, HealthUpdate
from openclaw_failover._sidecar import (
    Sidecar,
    SidecarHost,
    _open_store,
    answer_within_s,
    serve_stdio,
    write_policy_file,
)
from openclaw_failover.plugin import CLI_COMMANDS, register
from tests.fixtures.plugin_host import agent_ctx, make_plugin, make_table


class HangingStore:
    """A store that never answers (a stuck Redis, say)."""

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]:
        await asyncio.Event().wait()
        return {}

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        await asyncio.Event().wait()
        return None

    async def items(self) -> Mapping[str, Health]:
        return {}

    async def aclose(self) -> None:
        return None


def test_plugin_mode_registers_the_model_and_tool_hooks() -> None:
    """Plugin mode: six hooks (agent_end too), the tool guard first (priority 100), tool and CLI."""
    host = SidecarHost()
    register(host, make_plugin()[0])
    assert sorted(host.handlers) == [
        "agent_end",
        "before_model_resolve",
        "before_prompt_build",
        "before_tool_call",
        "model_call_ended",
        "model_call_started",
    ]
    assert host.handlers["before_tool_call"][0][0] == 100
    assert list(host.tools) == ["failover_status"]
    assert host.clis[0].name == "failover"
    assert host.clis[0].commands == CLI_COMMANDS


def test_provider_mode_registers_only_tool_and_cli() -> None:
    """Provider mode: the proxy steers and guards, so no hooks are registered."""
    host = SidecarHost()
    register(host, make_plugin(make_table(mode="provider"))[0])
    assert host.handlers == {}
    assert list(host.tools) == ["failover_status"]
    assert [c.path for c in host.clis[0].commands][2] == ("cooldowns", "clear")


def test_hello_carries_the_tool_policy() -> None:
    """hello gives the bridge the core's high-risk list and where the local tier is."""
    hello = Sidecar.create(make_plugin()[0]).hello()
    policy = hello["policy"]
    assert {"exec", "write", "apply_patch", "browser", "message"} <= set(policy["highRisk"])
    assert set(policy["highRiskDeferred"]) == {"terminal", "file_write"}
    assert policy["localProviders"] == ["ollama"]
    assert policy["localCandidates"] == [{"provider": "ollama", "model": "qwen3:8b"}]
    assert policy["chainHasLocal"] is True
    assert hello["openclaw"] == "2026.9.6"
    assert hello["mode"] == "plugin"


async def test_protocol_errors_are_replies_not_crashes() -> None:
    """Malformed JSON, a non-object, an unknown op and an unknown tool all get ok:false."""
    sidecar = Sidecar.create(make_plugin()[0])
    bad = await sidecar.handle_line("{nope")
    assert (bad["ok"], bad["id"]) == (False, None)
    assert "malformed" in bad["error"]
    assert "object" in (await sidecar.handle_line("[1]"))["error"]
    unknown = await sidecar.handle({"id": 3, "op": "launch"})
    assert unknown == {"id": 3, "ok": False, "error": unknown["error"]}
    assert "op: found 'launch'" in unknown["error"]
    tool = await sidecar.handle({"id": 4, "op": "tool", "name": "exec"})
    assert tool["ok"] is False
    assert "unknown tool" in tool["error"]


async def test_unknown_hook_answers_nothing() -> None:
    """A hook the plugin does not handle answers null (the bridge then does nothing)."""
    sidecar = Sidecar.create(make_plugin()[0])
    reply = await sidecar.handle({"id": 1, "op": "hook", "hook": "agent_end", "event": {}})
    assert reply == {"id": 1, "ok": True, "result": None}


async def test_each_call_is_bounded_by_the_sidecar_timeout() -> None:
    """A handler stuck on its store is cut at sidecar.timeoutMs with an error reply."""
    table = make_table()
    plugin = make_plugin(table)[0]
    plugin.store = HangingStore()
    sidecar = Sidecar.create(plugin)
    sidecar.timeout_s = 0.05
    reply = await sidecar.handle(
        {"id": 9, "op": "hook", "hook": "before_model_resolve", "event": {}, "ctx": agent_ctx()}
    )
    assert reply["ok"] is False
    assert "timed out" in reply["error"]


async def served(data: bytes, *, limit: int = 2**16) -> list[str]:
    """The reply lines ``serve_stdio`` writes for ``data`` on stdin, up to its EOF."""
    sidecar = Sidecar.create(make_plugin()[0])
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    lines: list[str] = []

    async def write(text: str) -> None:
        lines.append(text)

    await asyncio.wait_for(serve_stdio(sidecar, reader, write), 5)
    return lines


def _lines(*requests: object) -> bytes:
    return b"".join((json.dumps(r) + "\n").encode() for r in requests)


async def test_serve_stdio_answers_each_line_until_eof() -> None:
    """Lines in, one reply line each, concurrently; the loop ends by itself at EOF."""
    lines = await served(_lines({"id": 1, "op": "ping"}, {"id": 2, "op": "hello"}) + b"\n")
    replies = {r["id"]: r for r in map(json.loads, lines)}
    assert replies[1]["result"] == "pong"
    assert replies[2]["result"]["protocol"] == 1
    assert all(line.endswith("\n") for line in lines)


async def test_a_line_over_the_limit_is_dropped_and_the_sidecar_lives_on() -> None:
    """A request line over the reader's limit (a write tool call with huge content, say) is
    dropped, its caller times out and fails safe, and the next requests are still answered:
    the sidecar does not exit, which would leave the bridge without it for the process."""
    huge = {"id": 1, "op": "hook", "hook": "before_tool_call", "event": {"x": "y" * 2000}}
    lines = await served(_lines(huge, {"id": 2, "op": "ping"}), limit=256)
    replies = {r["id"]: r for r in map(json.loads, lines)}
    assert replies[2]["result"] == "pong"
    assert 1 not in replies


def test_policy_file_is_written_for_the_bridge(tmp_path: Path) -> None:
    """The sidecar leaves the policy in the state dir, where the bridge seeds its fail-safe."""
    state = StateSettings(directory=str(tmp_path / "failover"))
    table = make_table()
    table = replace(table, settings=replace(table.settings, state=state))
    sidecar = Sidecar.create(make_plugin(table)[0])
    path = write_policy_file(sidecar)
    assert path == tmp_path / "failover" / "bridge-policy.json"
    assert json.loads(path.read_text(encoding="utf-8")) == sidecar.plugin.guard.policy()


async def test_register_without_a_plugin_builds_one_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """register(api) alone loads OpenClaw's config from the environment, as the sidecar does."""
    config = {
        "models": {
            "mode": "replace",
            "providers": {
                "localfake": {
                    "baseUrl": "http://127.0.0.1:8",
                    "apiKey": "ollama-local",
                    "api": "ollama",
                    "models": [{"id": "qwen3:8b"}],
                }
            },
        },
        "agents": {"defaults": {"model": {"primary": "localfake/qwen3:8b"}}},
        "plugins": {"entries": {"openclaw-failover": {"config": {"mode": "plugin"}}}},
    }
    (tmp_path / "openclaw.json").write_text(json.dumps(config), encoding="utf-8")
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("OPENCLAW_CONFIG_PATH", str(tmp_path / "openclaw.json"))
    host = SidecarHost()
    plugin = register(host)
    try:
        assert plugin.table.settings.mode == "plugin"
        assert "before_tool_call" in host.handlers
        assert plugin.guard.policy()["localProviders"] == ["localfake"]
    finally:
        await plugin.store.aclose()
        await plugin.audit.aclose()


def test_the_sidecar_answers_before_the_bridge_stops_waiting() -> None:
    """The sidecar's own limit is shorter than sidecar.timeoutMs (the bridge's), so its
    'timed out' reply reaches a bridge still listening."""
    plugin = make_plugin()[0]
    sidecar = Sidecar.create(plugin)
    bridge_waits_s = plugin.table.settings.sidecar.timeout_ms / 1000
    assert 0 < sidecar.timeout_s < bridge_waits_s
    assert answer_within_s(1) >= 0.05


async def test_the_sidecar_file_store_honours_on_unavailable(tmp_path: Path) -> None:
    """state.onUnavailable reaches the sidecar's file store: 'closed' refuses an unusable
    journal instead of serving an empty memory state."""
    (tmp_path / "state.journal").mkdir()  # a journal that cannot be opened
    state = StateSettings(backend="file", directory=str(tmp_path), on_unavailable="closed")
    store = _open_store(state, str(tmp_path / "unused"))
    try:
        with pytest.raises(StateStoreError):
            await store.items()
    finally:
        await store.aclose()
