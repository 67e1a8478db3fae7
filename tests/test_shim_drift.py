"""Drift check: every hook name, payload field and result field the shim declares exists in the
installed OpenClaw package (its ``dist/*.d.ts`` type declarations and ``docs/``).

When the pin moves, these tests say exactly which name disappeared or appeared.
"""

from __future__ import annotations

import re
from dataclasses import fields
from functools import cache
from pathlib import Path

import pytest

from openclaw_failover._vendor import openclaw_sdk_shim as shim

pytestmark = pytest.mark.openclaw_e2e

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_FIELD = re.compile(r"^\s*(?:readonly\s+)?([A-Za-z_]\w*)\??\s*:")


@pytest.fixture(scope="module")
def package_dir(openclaw_bin: Path) -> Path:
    """The installed ``openclaw`` npm package directory."""
    return (openclaw_bin / "openclaw").resolve().parent


@cache
def _dts_texts(dist: Path) -> tuple[str, ...]:
    return tuple(
        _COMMENTS.sub("", p.read_text(encoding="utf-8")) for p in sorted(dist.glob("*.d.ts"))
    )


def _definition(dist: Path, name: str) -> str:
    """The right-hand side of ``type <name> = ...``, from the first file that defines it."""
    head = re.compile(rf"\btype {re.escape(name)}(?:<[^=]*>)? = ")
    for text in _dts_texts(dist):
        match = head.search(text)
        if match is None:
            continue
        depth, i = 0, match.end()
        while i < len(text):
            ch = text[i]
            depth += ch in "{("
            depth -= ch in "})"
            if ch == ";" and depth == 0:
                return text[match.end() : i]
            i += 1
    raise AssertionError(f"type {name} not found in {dist}")


def _fields(dist: Path, name: str) -> set[str]:
    """Top-level field names of an object type, following ``Base & {...}`` and aliases."""
    body = _definition(dist, name).strip()
    found: set[str] = set()
    base = re.match(r"^([A-Za-z_$][\w$]*)\s*(?:&|$)", body)
    if base:
        found |= _fields(dist, base.group(1))
    brace = body.find("{")
    if brace < 0:
        return found
    depth = 0
    for line in body[brace:].splitlines():
        if depth == 1 and (m := _FIELD.match(line)):
            found.add(m.group(1))
        depth += line.count("{") - line.count("}")
    return found


def _union(dist: Path, name: str) -> list[str]:
    return re.findall(r'"([^"]+)"', _definition(dist, name))


def test_hook_names_match_the_installed_union(package_dir: Path) -> None:
    """The shim's HOOK_NAMES equal OpenClaw's PluginHookName union, in order."""
    assert _union(package_dir / "dist", "PluginHookName") == list(shim.HOOK_NAMES)


def test_registration_modes_match(package_dir: Path) -> None:
    """The shim's registration modes equal OpenClaw's PluginRegistrationMode union."""
    assert _union(package_dir / "dist", "PluginRegistrationMode") == list(shim.REGISTRATION_MODES)


@pytest.mark.parametrize("cls", list(shim.TS_TYPES), ids=lambda c: c.__name__)
def test_payload_fields_exist_in_host_types(package_dir: Path, cls: type) -> None:
    """Every field of a shim payload exists (camelCase) in the host type it mirrors."""
    host = _fields(package_dir / "dist", shim.TS_TYPES[cls])
    ours = {shim.camel(f.name) for f in fields(cls) if f.name != "extra"}
    assert ours - host == set(), f"{cls.__name__}: not in {shim.TS_TYPES[cls]}"


@pytest.mark.parametrize("cls", list(shim.RESULT_TS_TYPES), ids=lambda c: c.__name__)
def test_result_fields_exist_in_host_types(package_dir: Path, cls: type) -> None:
    """Every field of a shim result exists (camelCase) in the host result type."""
    host = _fields(package_dir / "dist", shim.RESULT_TS_TYPES[cls])
    ours = {shim.camel(f.name) for f in fields(cls)}
    assert ours - host == set()


def test_tool_context_has_no_model(package_dir: Path) -> None:
    """before_tool_call's ctx carries no model on this pin, which is why the plugin maps runId."""
    host = _fields(package_dir / "dist", "PluginHookToolContext")
    assert {"runId", "toolName"} <= host
    assert not {f for f in host if "model" in f.lower()}


def test_plugin_api_members_exist(package_dir: Path) -> None:
    """The members PluginApi mirrors exist on OpenClawPluginApi."""
    host = _fields(package_dir / "dist", "OpenClawPluginApi")
    wanted = {"id", "registrationMode", "pluginConfig", "config", "logger", "on"}
    wanted |= {"registerTool", "registerCli", "registerService"}
    assert wanted <= host


def test_hook_gates_match_the_docs(package_dir: Path) -> None:
    """Conversation-gated and fail-closed hook sets agree with the installed docs."""
    ext = (package_dir / "docs/gateway/config-extensions.md").read_text(encoding="utf-8")
    line = next(x for x in ext.splitlines() if "hooks.allowConversationAccess`: when" in x)
    assert set(re.findall(r"`([a-z_]+)`", line)) - {"true"} == shim.CONVERSATION_HOOKS
    ref = (package_dir / "docs/plugins/hooks/reference.md").read_text(encoding="utf-8")
    closed = next(x for x in ref.splitlines() if "Fail closed" in x)
    assert set(re.findall(r"`([a-z_]+)`", closed.split("|")[1])) == shim.FAIL_CLOSED_HOOKS


def test_locked_sessions_skip_before_model_resolve(package_dir: Path) -> None:
    """The host skips before_model_resolve only for model-locked sessions (the strict-pick fact)."""
    marker = "async function resolveHookModelSelection"
    texts = (p.read_text(encoding="utf-8") for p in (package_dir / "dist").glob("setup-*.mjs"))
    setup = next(t for t in texts if marker in t)
    body = setup[setup.index(marker) : setup.index(marker) + 400]
    assert "params.modelSelectionLocked === true" in body
