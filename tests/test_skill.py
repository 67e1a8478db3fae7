"""The skill: SKILL.md follows the AgentSkills format and skill.json describes the same skill."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import json5
import pytest

from tests.fixtures.openclaw import OpenClawHome

ROOT = Path(__file__).resolve().parents[1]


def _frontmatter(text: str) -> tuple[dict[str, Any], str]:
    """Split SKILL.md into its frontmatter (scalars + JSON5 metadata) and its body."""
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.DOTALL)
    assert match, "SKILL.md must start with a --- frontmatter block"
    head, body = match.groups()
    data: dict[str, Any] = {}
    lines = head.splitlines()
    i = 0
    while i < len(lines):
        key, _, value = lines[i].partition(":")
        if key == "metadata":
            block = [value] + [ln for ln in lines[i + 1 :] if ln.startswith(" ")]
            data["metadata"] = json5.loads("\n".join(block))
            i += len(block)
            continue
        data[key] = json.loads(value.strip()) if value.strip().startswith('"') else value.strip()
        i += 1
    return data, body


def _load() -> tuple[dict[str, Any], str, dict[str, Any]]:
    front, body = _frontmatter((ROOT / "SKILL.md").read_text(encoding="utf-8"))
    manifest = json.loads((ROOT / "skill.json").read_text(encoding="utf-8"))
    return front, body, manifest


def test_frontmatter_has_required_keys_and_openclaw_metadata() -> None:
    """SKILL.md has name, description, and metadata.openclaw with requires.bins and uv install."""
    front, _, _ = _load()
    assert front["name"] == "openclaw-failover"
    assert len(front["description"]) > 40
    meta = front["metadata"]["openclaw"]
    assert meta["requires"]["bins"] == ["openclaw-failover"]
    assert [i["kind"] for i in meta["install"]] == ["uv"]
    assert meta["install"][0]["package"] == "openclaw-failover"


def test_skill_json_matches_frontmatter() -> None:
    """skill.json repeats the name, description, bins, os and installer of SKILL.md exactly."""
    front, _, manifest = _load()
    meta = front["metadata"]["openclaw"]
    assert manifest["name"] == front["name"]
    assert manifest["description"] == front["description"]
    assert manifest["requirements"]["bins"] == meta["requires"]["bins"]
    assert manifest["requirements"]["os"] == meta["os"]
    assert manifest["install"] == meta["install"]
    assert manifest["entry"] == "SKILL.md"


def test_skill_version_is_the_package_version() -> None:
    """skill.json's version follows pyproject.toml."""
    _, _, manifest = _load()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert manifest["version"] == project["version"]


def test_every_command_is_taught_in_the_body() -> None:
    """Each command in skill.json appears in SKILL.md's body, and the body names no other."""
    _, body, manifest = _load()
    runs = {c["run"] for c in manifest["commands"]}
    inline = re.findall(r"`(openclaw-failover [a-z ]+)`", body)
    fenced = re.findall(r"^(openclaw-failover [a-z ]+)$", body, re.MULTILINE)
    taught = set(inline) | set(fenced)
    assert runs == taught


def test_clearing_cooldowns_is_left_to_the_human() -> None:
    """The skill proposes `cooldowns clear` to the human and never runs it on its own."""
    _, body, manifest = _load()
    clear = next(c for c in manifest["commands"] if c["name"] == "cooldowns clear")
    assert clear["humanOnly"] is True
    assert "Never clear cooldowns on your own" in body
    assert all(not c["humanOnly"] for c in manifest["commands"] if c is not clear)


def test_status_tool_is_the_plugins_tool() -> None:
    """The skill's tool is the one the bridge manifest declares in contracts.tools."""
    _, body, manifest = _load()
    bridge = json.loads(
        (ROOT / "openclaw_failover/bridge/openclaw.plugin.json").read_text(encoding="utf-8")
    )
    assert manifest["tools"] == bridge["contracts"]["tools"] == ["failover_status"]
    assert "`failover_status`" in body


@pytest.mark.openclaw_e2e
def test_real_openclaw_reads_the_skill(openclaw_home: OpenClawHome) -> None:
    """OpenClaw 2026.9.6 parses SKILL.md from the workspace and reports it ready."""
    skill_dir = openclaw_home.workspace / "skills" / "openclaw-failover"
    skill_dir.mkdir(parents=True)
    shutil.copy(ROOT / "SKILL.md", skill_dir / "SKILL.md")
    openclaw_home.write_config(openclaw_home.base_config({}, primary="openai/gpt-5.4-mini"))
    venv_bin = Path(sys.executable).parent
    openclaw_home.extra_env["PATH"] = f"{openclaw_home.bin_dir}:{venv_bin}:/usr/bin:/bin"
    info = openclaw_home.run_cli(["skills", "info", "openclaw-failover"])
    assert info.rc == 0, info.stderr[-2000:]
    assert "Ready" in info.stdout
    assert "openclaw-workspace" in info.stdout
    assert "✓ openclaw-failover" in info.stdout
