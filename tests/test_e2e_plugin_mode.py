"""End to end with real OpenClaw 2026.9.6 in plugin mode, wired by ``openclaw-failover install``.

OpenClaw calls the fakes itself; the bridge forwards its hooks to the Python sidecar. The tool
guard must be tier-specific: the same ``exec`` call is refused for a local-tier (``api:
"ollama"``) model and runs for a cloud-tier one. Each turn (run) gets one outcome line, written
at ``agent_end``, however many passes OpenClaw makes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover.testing import (
    Answer,
    FakeOllamaServer,
    FakeOpenAIServer,
    FakeProviderServer,
    HttpError,
    Ok,
    tool_reply,
)
from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry

pytestmark = [pytest.mark.openclaw_e2e, pytest.mark.slow]


def _install_plugin_mode(
    home: OpenClawHome, providers: dict[str, Any], primary: str, fallbacks: tuple[str, ...] = ()
) -> None:
    """Write a plain OpenClaw config, then run our installer in plugin mode (OpenClaw on PATH)."""
    home.write_config(home.base_config(providers, primary=primary, fallbacks=fallbacks))
    argv = [sys.executable, "-m", "openclaw_failover", "install", "--mode", "plugin"]
    argv += ["--config", str(home.config_path), "--state-dir", str(home.state_dir)]
    argv += ["--workspace", str(home.workspace)]
    done = subprocess.run(
        argv, env=home.env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout


def _audit(home: OpenClawHome, event: str, within_s: float = 10.0) -> list[dict[str, Any]]:
    """Audit lines of one event kind, polled: the sidecar flushes as OpenClaw exits."""
    path = home.state_dir / "failover" / "audit.jsonl"
    deadline = time.monotonic() + within_s
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
            found = [x for x in lines if x.get("event") == event]
            if found:
                break
        time.sleep(0.2)
    return found


def _exec_turn(home: OpenClawHome, fake: FakeProviderServer, target: Path, session: str) -> None:
    """One turn whose model asks ``exec`` to create ``target``, then says it is done."""
    fake.script(tool_reply("exec", {"command": f"echo made > {target}"}), Ok(Answer(text="Done.")))
    turn = home.run_turn("create the file", session)
    print(f"\nplugin mode, exec turn ({session}): wall {turn.wall_s:.1f} s")
    assert turn.rc == 0, turn.stderr[-3000:]


def test_plugin_install_is_accepted_and_loaded_by_openclaw(openclaw_home: OpenClawHome) -> None:
    """After a plugin-mode install, OpenClaw validates the file and loads the bridge's hooks."""
    with FakeOpenAIServer() as cloud:
        entry = fake_provider_entry(cloud.url, api_key="sk-e2e-plugin-cloud")
        _install_plugin_mode(openclaw_home, {"fakecloud": entry}, "fakecloud/fake-model")
    valid = openclaw_home.config_validate()
    assert valid.rc == 0, valid.stdout + valid.stderr
    doc = openclaw_home.read_config()
    plugin = doc["plugins"]["entries"]["openclaw-failover"]
    assert plugin["hooks"]["allowConversationAccess"] is True
    assert doc["agents"]["defaults"]["model"]["primary"] == "fakecloud/fake-model"
    report = openclaw_home.run_cli(
        ["plugins", "inspect", "openclaw-failover", "--runtime", "--json"]
    ).json()
    assert report["plugin"]["status"] == "loaded"
    assert "before_tool_call" in {h["name"] for h in report["typedHooks"]}


def test_exec_is_refused_for_a_local_ollama_model_and_the_audit_says_why(
    openclaw_home: OpenClawHome,
) -> None:
    """A local-tier (api "ollama") model's exec call creates no file; the audit names the tier."""
    target = openclaw_home.workspace / "made-by-local.txt"
    with FakeOllamaServer(models=["qwen3:8b"]) as ollama:
        entry = fake_provider_entry(
            ollama.url, model_id="qwen3:8b", api_key="ollama-local", api="ollama"
        )
        _install_plugin_mode(openclaw_home, {"ollama": entry}, "ollama/qwen3:8b")
        _exec_turn(openclaw_home, ollama, target, "plugin-local")
        offered = {
            t["function"]["name"]
            for t in ollama.chat_requests[0].json.get("tools", [])
            if "function" in t
        }
    assert not target.exists()
    assert "exec" not in offered  # toolsAllow narrowed the offer (conversation access granted)
    blocked = _audit(openclaw_home, "tool_blocked")
    assert blocked, "the refusal is audited"
    assert "exec" in blocked[0]["tools_blocked"]
    assert (blocked[0]["provider"], blocked[0]["tier"]) == ("ollama", "local")


def test_exec_runs_for_a_cloud_model(openclaw_home: OpenClawHome) -> None:
    """The same exec call from a cloud-tier model runs: the guard is tier-specific."""
    target = openclaw_home.workspace / "made-by-cloud.txt"
    with FakeOpenAIServer() as cloud:
        entry = fake_provider_entry(cloud.url, api_key="sk-e2e-plugin-cloud")
        _install_plugin_mode(openclaw_home, {"fakecloud": entry}, "fakecloud/fake-model")
        _exec_turn(openclaw_home, cloud, target, "plugin-cloud")
    assert target.read_text(encoding="utf-8").strip() == "made"
    assert _audit(openclaw_home, "tool_blocked", within_s=1.0) == []


#: A 429 whose Retry-After is above OpenClaw's 60 s retry ceiling: it fails over at once.
LONG_429 = HttpError(429, retry_after=120)


def _fallback_turn(home: OpenClawHome, primary_fault: Any, backup_fault: Any) -> None:
    """One turn over fakeprimary -> fakebackup (plugin mode), each fake answering as told."""
    with (
        FakeOpenAIServer(default=primary_fault) as primary,
        FakeOpenAIServer(default=backup_fault) as backup,
    ):
        providers = {
            "fakeprimary": fake_provider_entry(primary.url, api_key="sk-e2e-plugin-primary"),
            "fakebackup": fake_provider_entry(backup.url, api_key="sk-e2e-plugin-backup"),
        }
        _install_plugin_mode(home, providers, "fakeprimary/fake-model", ("fakebackup/fake-model",))
        turn = home.run_turn("say hello", "plugin-fallback")
        print(f"\nplugin mode, fallback turn: rc {turn.rc}, wall {turn.wall_s:.1f} s")


def test_a_turn_that_fails_over_is_one_downgraded_outcome(openclaw_home: OpenClawHome) -> None:
    """The primary's 429 then the backup's answer: OpenClaw runs agent_end for each pass, the
    audit still has one outcome line for the run, answered_downgraded by the backup."""
    _fallback_turn(openclaw_home, LONG_429, Ok(Answer(text="Hello from the backup.")))
    outcomes = _audit(openclaw_home, "outcome")
    assert [o["outcome"] for o in outcomes] == ["answered_downgraded"], outcomes
    line = outcomes[0]
    assert (line["provider"], line["downgraded"]) == ("fakebackup", True)
    assert line["attempt"] >= 2
    assert line["route_version"]
    attempts = _audit(openclaw_home, "attempt")
    assert {a["request_id"] for a in attempts} == {line["request_id"]}


def test_a_turn_whose_every_candidate_fails_is_one_hard_stop(openclaw_home: OpenClawHome) -> None:
    """Both candidates fail: one hard_stop outcome line for the run (written as OpenClaw exits
    and the sidecar stops), no answered line."""
    _fallback_turn(openclaw_home, LONG_429, LONG_429)
    outcomes = _audit(openclaw_home, "outcome")
    assert [o["outcome"] for o in outcomes] == ["hard_stop"], outcomes
    assert outcomes[0]["attempt"] >= 2
