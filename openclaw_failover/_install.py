"""Install into and uninstall from an OpenClaw home: files, backups, the bridge and the skill."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import json5

from ._install_plan import (
    PLUGIN_ID,
    TOKEN_ENV,
    InstallOptions,
    Mode,
    Plan,
    plan_install,
    plan_uninstall,
    prune_created,
)
from .config import discover_config_path, resolve_state_dir

BACKUP_SUFFIX = ".failover-backup"
BOOK_SUFFIX = ".failover-install.json"
SETTINGS_NAME = "openclaw-failover.settings.json"


class InstallError(Exception):
    """Install or uninstall cannot proceed; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where OpenClaw lives for this run."""

    config_path: Path
    state_dir: Path
    workspace: Path
    environ: Mapping[str, str]


def resolve_target(
    config: str | None, *, state_dir: str | None, workspace: str | None, environ: Mapping[str, str]
) -> Target:
    """Find the config, the OpenClaw state dir and the workspace, as OpenClaw would."""
    env = dict(environ)
    if state_dir:
        env["OPENCLAW_STATE_DIR"] = state_dir
    path = Path(config) if config else discover_config_path(env)
    failover_dir = resolve_state_dir(env)
    oc_state = Path(state_dir) if state_dir else failover_dir.parent
    doc = _read(path) if path.exists() else {}
    ws = workspace or doc.get("agents", {}).get("defaults", {}).get("workspace")
    return Target(path, oc_state, Path(ws) if ws else oc_state / "workspace", env)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json5.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InstallError(f"{path}: not valid JSON5 ({exc}); fix it or restore a backup") from exc
    if not isinstance(data, dict):
        raise InstallError(f"{path}: found {type(data).__name__} at the root; expected an object")
    if any("$include" in str(k) for k in _keys(data)):
        raise InstallError(
            f"{path}: uses $include; install edits one file only. Inline the "
            "included agents/models/plugins sections, then install again"
        )
    return data


def _keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*node, *(k for v in node.values() for k in _keys(v))]
    if isinstance(node, list):
        return [k for v in node for k in _keys(v)]
    return []


def _write(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def bridge_dir() -> Path:
    """The JS bridge plugin shipped inside the package."""
    return Path(str(resources.files("openclaw_failover") / "bridge"))


def _ensure_token(state_dir: Path, environ: Mapping[str, str]) -> None:
    """Put a random proxy token in OpenClaw's ``.env`` unless one is set already."""
    env_file = state_dir / ".env"
    existing = env_file.read_text(encoding="utf-8") if env_file.exists() else ""
    if TOKEN_ENV in environ or f"{TOKEN_ENV}=" in existing:
        return
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        sep = "" if not existing or existing.endswith("\n") else "\n"
        handle.write(f"{sep}{TOKEN_ENV}={secrets.token_urlsafe(32)}\n")


def _openclaw_link_bridge(target: Target) -> bool:
    """Register the bridge with OpenClaw's own CLI when it is on PATH; False when it is not."""
    exe = shutil.which("openclaw", path=target.environ.get("PATH"))
    if exe is None:
        return False
    env = {
        **target.environ,
        "OPENCLAW_CONFIG_PATH": str(target.config_path),
        "OPENCLAW_STATE_DIR": str(target.state_dir),
    }
    cmd = [
        exe,
        "plugins",
        "install",
        "--link",
        str(bridge_dir()),
        "--force",
        "--accept-capabilities",
    ]
    # A fixed argv from `shutil.which` and our own package path; no shell.
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InstallError("openclaw plugins install failed: " + " | ".join(tail))
    return True


def _diff(before: Mapping[str, Any], after: Mapping[str, Any], name: str) -> str:
    a = json.dumps(before, indent=2, ensure_ascii=False).splitlines()
    b = json.dumps(after, indent=2, ensure_ascii=False).splitlines()
    return "\n".join(difflib.unified_diff(a, b, f"{name} (now)", f"{name} (after)", lineterm=""))


def install(
    target: Target,
    *,
    mode: Mode,
    agents: tuple[str, ...] = (),
    dry_run: bool = False,
    use_openclaw_cli: bool = True,
    port: int | None = None,
) -> tuple[Plan, str]:
    """Install; returns the plan and a diff of the config. Idempotent."""
    path = target.config_path
    original = _read(path) if path.exists() else {}
    opts = InstallOptions(
        mode=mode,
        python=sys.executable,
        config_path=str(path),
        state_dir=str(target.state_dir),
        bridge_dir=str(bridge_dir()),
        agents=agents,
        port=port,
    )
    settings_file = path.parent / SETTINGS_NAME
    saved = json.loads(settings_file.read_text("utf-8")) if settings_file.exists() else None
    if dry_run:
        plan = plan_install(original, opts, saved_settings=saved)
        return plan, _diff(original, plan.doc, path.name)
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    if path.exists() and not backup.exists():
        shutil.copy2(path, backup)
    linked = use_openclaw_cli and path.exists() and _openclaw_link_bridge(target)
    current = _read(path) if linked else original
    opts = dataclasses.replace(opts, link_bridge_in_config=not linked)
    plan = plan_install(current, opts, saved_settings=saved)
    book_path = path.with_name(path.name + BOOK_SUFFIX)
    book = json.loads(book_path.read_text("utf-8")) if book_path.exists() else {}
    _write(book_path, {**plan.bookkeeping, **book, "mode": mode})
    if mode == "provider":
        _ensure_token(target.state_dir, target.environ)
    _write(path, plan.doc)
    _install_skill(target.workspace)
    return plan, _diff(original, plan.doc, path.name)


def _install_skill(workspace: Path) -> None:
    data = resources.files("openclaw_failover") / "data"
    dest = workspace / "skills" / PLUGIN_ID
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("SKILL.md", "skill.json"):
        source = data / name
        if source.is_file():
            (dest / name).write_bytes(source.read_bytes())


def uninstall(target: Target, *, dry_run: bool = False) -> tuple[Plan, str]:
    """Undo the install; the plugin block's settings are kept beside the config."""
    path = target.config_path
    if not path.exists():
        raise InstallError(f"{path}: no OpenClaw config here; nothing to uninstall")
    installed = _read(path)
    book_path = path.with_name(path.name + BOOK_SUFFIX)
    book = json.loads(book_path.read_text("utf-8")) if book_path.exists() else {}
    plan = plan_uninstall(installed, book, bridge_dir=str(bridge_dir()))
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    original = _read(backup) if backup.exists() else {}
    doc = prune_created(plan.doc, original)
    if not dry_run:
        _write(path.parent / SETTINGS_NAME, plan.bookkeeping["settings"])
        _write(path, doc)
        book_path.unlink(missing_ok=True)
        shutil.rmtree(target.workspace / "skills" / PLUGIN_ID, ignore_errors=True)
    return plan, _diff(installed, doc, path.name)
