"""Install into and uninstall from an OpenClaw home: files, backups, the bridge and the skill."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import json5

from ._errors import Problem
from ._install_files import (
    InstallError,
    back_up,
    has_comments,  # noqa: F401 - still imported from here by callers
    keep_comments,
    write_atomic,
    write_recorded,
)
from ._install_plan import (
    TOKEN_ENV,
    Doc,
    InstallOptions,
    Mode,
    Plan,
    PlanError,
    plan_install,
    plan_uninstall,
    prune_created,
)
from ._install_shape import PLUGIN_ID
from .config import (
    ENVIRONMENTAL_RULES,
    discover_config_path,
    load_route_table,
    resolve_state_dir,
)
from .config._env import parse_dotenv, read_dotenv
from .config._redact import known_secrets, redact, scrub_text

BACKUP_SUFFIX = ".failover-backup"
BOOK_SUFFIX = ".failover-install.json"
SETTINGS_NAME = "openclaw-failover.settings.json"


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
    ws = workspace or _configured_workspace(doc)
    return Target(path, oc_state, Path(ws) if ws else oc_state / "workspace", env)


def _configured_workspace(doc: Doc) -> str | None:
    """``agents.defaults.workspace`` if it is a path; a wrong shape is install's to report."""
    agents = doc.get("agents")
    defaults = agents.get("defaults") if isinstance(agents, dict) else None
    workspace = defaults.get("workspace") if isinstance(defaults, dict) else None
    return workspace if isinstance(workspace, str) and workspace else None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json5.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InstallError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
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


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    """One of our own JSON files beside the config (kept settings, install record); None if
    it is not there. A damaged one is refused by name, never silently replaced."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InstallError(f"{path} ({what}): cannot read it as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InstallError(
            f"{path} ({what}): found {type(data).__name__} at the root; expected an object"
        )
    return data


def _keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*node, *(k for v in node.values() for k in _keys(v))]
    if isinstance(node, list):
        return [k for v in node for k in _keys(v)]
    return []


def _dumped(doc: Mapping[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write(path: Path, doc: Mapping[str, Any]) -> None:
    write_atomic(path, _dumped(doc))


def bridge_dir() -> Path:
    """The JS bridge plugin shipped inside the package."""
    return Path(str(resources.files("openclaw_failover") / "bridge"))


def _token_line(env_file: Path) -> tuple[str, str | None]:
    """``.env``'s text and its token (None when absent); an empty token is refused by name.
    ``install`` asks this before it writes anything, and again when it adds a token."""
    try:
        existing = env_file.read_text(encoding="utf-8") if env_file.exists() else ""
    except (OSError, ValueError) as exc:
        raise InstallError(
            f"{env_file}: cannot read it ({exc}); expected a readable UTF-8 file; fix it, "
            f"or export {TOKEN_ENV}, then install again"
        ) from exc
    found = parse_dotenv(existing).get(TOKEN_ENV)  # a commented-out line is no token
    if found == "":
        raise InstallError(
            f"{env_file}: {TOKEN_ENV} is set but empty; expected a token: delete that "
            "line (install then writes a new one) or give it a value"
        )
    return existing, found


def _ensure_token(state_dir: Path, environ: Mapping[str, str]) -> list[str]:
    """Put a random proxy token in OpenClaw's ``.env`` unless one is set already.

    A new ``.env`` is created 0600. An existing one is appended to as it is, with a warning
    when other users can read it (its mode is the operator's to change).
    """
    env_file = state_dir / ".env"
    if TOKEN_ENV in environ:
        return []
    notes: list[str] = []
    try:
        existing, found = _token_line(env_file)
        if found is None:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                sep = "" if not existing or existing.endswith("\n") else "\n"
                handle.write(f"{sep}{TOKEN_ENV}={secrets.token_urlsafe(32)}\n")
            notes.append(f"proxy token {TOKEN_ENV} added to {env_file}")
        mode = stat.S_IMODE(env_file.stat().st_mode)
    except (OSError, ValueError) as exc:
        raise InstallError(
            f"{env_file}: cannot add {TOKEN_ENV} to it ({exc}); expected a writable UTF-8 "
            f"file; fix it, or export {TOKEN_ENV}, then install again"
        ) from exc
    if mode & 0o077:
        notes.append(
            f"warning: {env_file} holds {TOKEN_ENV} (and maybe API keys) and other users can "
            f"read it (mode {mode:04o}); run: chmod 600 {env_file}"
        )
    return notes


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
    try:  # A fixed argv from `shutil.which` and our own package path; no shell.
        done = subprocess.run(  # noqa: S603
            cmd, env=env, capture_output=True, text=True, timeout=180, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(
            f"{exe}: cannot run `openclaw plugins install` ({exc}); fix OpenClaw's CLI, or "
            "pass --no-openclaw-cli to edit the config instead"
        ) from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InstallError("openclaw plugins install failed: " + " | ".join(tail))
    return True


def _shown(doc: Mapping[str, Any], secrets: frozenset[str]) -> list[str]:
    masked = redact(dict(doc), secrets=secrets)
    return json.dumps(masked, indent=2, ensure_ascii=False).splitlines()


def _diff(before: Mapping[str, Any], after: Mapping[str, Any], target: Target) -> str:
    """A unified diff of the config, masked as ``migrate`` masks its diff: values under
    secret-bearing keys, every secret this process knows of, and anything key-shaped."""
    secrets = known_secrets(target.environ, config_path=target.config_path)
    name = target.config_path.name
    diff = difflib.unified_diff(
        _shown(before, secrets),
        _shown(after, secrets),
        f"{name} (now)",
        f"{name} (after)",
        lineterm="",
    )
    return scrub_text("\n".join(diff), secrets)


def _refused(path: Path, problems: tuple[Problem, ...], why: str = "") -> InstallError:
    lines = "\n".join(f"  [{p.rule}] {p.message}" for p in problems)
    return InstallError(f"{path}: refused, nothing written{why}:\n{lines}")


def _planned(original: Doc, opts: InstallOptions, saved: Doc | None, path: Path) -> Plan:
    try:
        return plan_install(original, opts, saved_settings=saved)
    except PlanError as exc:
        raise _refused(path, exc.problems) from None


def _sandboxed(doc: Doc, folder: str) -> Doc:
    """``doc`` for a check run: its state kept in ``folder`` (no salt written beside the real
    state, no Redis reached). The same change on both sides, so it hides no difference."""
    copied: Doc = json.loads(json.dumps(doc))
    block = copied.get("plugins", {}).get("entries", {}).get(PLUGIN_ID, {}).get("config")
    if isinstance(block, dict) and isinstance(block.get("state"), dict):
        block["state"] = {
            **{k: v for k, v in block["state"].items() if k != "url"},
            "backend": "file",
            "directory": os.path.join(folder, "failover"),
        }
    return copied


def _validation_notes(before: Doc, after: Doc, target: Target) -> list[str]:
    """Run ``validate`` on the document before and after; refuse (``InstallError``) when the
    install would add an error, and return notes for what it finds that install did not cause
    (errors already there, keys not exported yet)."""
    with tempfile.TemporaryDirectory(prefix="openclaw-failover-install-") as folder:
        # OpenClaw's .env is read here (the process env wins, as in OpenClaw), then the state
        # folder points at the scratch folder, so the check writes nothing beside the config.
        env = {**read_dotenv(target.state_dir), **target.environ, "OPENCLAW_STATE_DIR": folder}
        file = Path(folder) / "openclaw.json"

        def errors(doc: Doc) -> tuple[Problem, ...]:
            file.write_text(json.dumps(_sandboxed(doc, folder)), encoding="utf-8")
            return load_route_table(file, kind="openclaw", environ=env).errors

        had = errors(before)
        known = {(p.rule, p.found) for p in had}
        added = [p for p in errors(after) if (p.rule, p.found) not in known]
    blocking = tuple(p for p in added if p.rule not in ENVIRONMENTAL_RULES)
    if blocking:
        why = " (the result would not pass `openclaw-failover validate`)"
        raise _refused(target.config_path, blocking, why)
    notes = [f"before serving: {p.found}; {p.fix}" for p in added]
    if had:
        notes.append(
            f"validate already finds {len(had)} error(s) in this config that install does not "
            "cause; run `openclaw-failover validate` to see them"
        )
    return notes


def install(
    target: Target,
    *,
    mode: Mode,
    agents: tuple[str, ...] = (),
    dry_run: bool = False,
    use_openclaw_cli: bool = True,
    port: int | None = None,
) -> tuple[Plan, str]:
    """Install; returns the plan and a masked diff of the config. Idempotent.

    Everything is checked before anything is written: the document's shape, ``port``,
    ``agents``, the mode, and that ``validate`` finds no error the install would add.
    """
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
    saved = _read_json(path.parent / SETTINGS_NAME, "plugin settings kept by uninstall")
    book_path = path.with_name(path.name + BOOK_SUFFIX)
    book = _read_json(book_path, "install record") or {}
    plan = _planned(original, opts, saved, path)
    extra = _validation_notes(original, plan.doc, target)
    if dry_run:
        shown = dataclasses.replace(plan, notes=(*plan.notes, *extra))
        return shown, _diff(original, plan.doc, target)
    if mode == "provider" and TOKEN_ENV not in target.environ:
        _token_line(target.state_dir / ".env")  # an empty or unreadable one stops us here
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    if path.exists() and not backup.exists():
        back_up(path, backup)
    extra += keep_comments(path, path.with_name(path.name + BACKUP_SUFFIX))
    _install_skill(target.workspace)  # before the config: a workspace it cannot write stops here
    linked = use_openclaw_cli and path.exists() and _openclaw_link_bridge(target)
    current = _read(path) if linked else original
    opts = dataclasses.replace(opts, link_bridge_in_config=not linked)
    plan = _planned(current, opts, saved, path)
    if mode == "provider":
        extra += _ensure_token(target.state_dir, target.environ)
    record = {**plan.bookkeeping, **book, "mode": mode}
    write_recorded(path, _dumped(plan.doc), book_path, _dumped(record))
    done = dataclasses.replace(plan, notes=(*plan.notes, *extra))
    return done, _diff(original, plan.doc, target)


def _install_skill(workspace: Path) -> None:
    data = resources.files("openclaw_failover") / "data"
    dest = workspace / "skills" / PLUGIN_ID
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("SKILL.md", "skill.json"):
            source = data / name
            if source.is_file():
                (dest / name).write_bytes(source.read_bytes())
    except OSError as exc:
        raise InstallError(
            f"{dest}: cannot write the skill into the workspace ({exc.strerror or exc}); "
            "expected a writable folder (pass --workspace); the config is left as it was"
        ) from exc


def uninstall(target: Target, *, dry_run: bool = False) -> tuple[Plan, str]:
    """Undo the install; the plugin block's settings are kept beside the config.

    With nothing installed, nothing is written: settings kept by an earlier uninstall stay
    as they are (``bookkeeping["removed"]`` is False).
    """
    path = target.config_path
    if not path.exists():
        raise InstallError(f"{path}: no OpenClaw config here; nothing to uninstall")
    installed = _read(path)
    book_path = path.with_name(path.name + BOOK_SUFFIX)
    book = _read_json(book_path, "install record") or {}
    try:
        plan = plan_uninstall(installed, book, bridge_dir=str(bridge_dir()))
    except PlanError as exc:
        raise _refused(path, exc.problems) from None
    settings = plan.bookkeeping["settings"]
    kept = path.parent / SETTINGS_NAME
    untouched = [f"the settings kept in {kept} are left as they are"] if kept.exists() else []
    if settings is None and plan.doc == installed:
        return Plan(installed, tuple(untouched), {"settings": None, "removed": False}), ""
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    original = _read(backup) if backup.exists() else {}
    doc = prune_created(plan.doc, original)
    notes = list(plan.notes)
    if settings:
        notes.append(f"plugin settings kept in {kept} (the next install restores them)")
    else:  # an empty or missing block has nothing to keep: an earlier copy stays
        notes += untouched
    if not dry_run:
        notes += keep_comments(path, path.with_name(path.name + BACKUP_SUFFIX))
        if settings:
            _write(kept, settings)
        _write(path, doc)
        book_path.unlink(missing_ok=True)
        shutil.rmtree(target.workspace / "skills" / PLUGIN_ID, ignore_errors=True)
    bookkeeping = {**plan.bookkeeping, "removed": True}
    return Plan(doc, tuple(notes), bookkeeping), _diff(installed, doc, target)
