"""``doctor``: in one pass, what the runbooks check by hand, each finding with its fix.

Config valid, keys resolvable (and from which source, never the value), state readable and not
stale, local tier reachable with its model pulled, proxy reachable and ready, OpenClaw wired to
it, audit writable. The exit code is the worst finding: 0 ok, 1 warning, 2 error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ._errors import Problem
from ._model import RouteTable
from ._ports import StateStore, Transport
from ._status import damaged_records, health_state, local_health
from .config._redact import mask_url

__all__ = [
    "LEVELS",
    "Finding",
    "check_config",
    "check_keys",
    "check_state",
    "degraded_reason",
    "describe_store",
    "run_checks",
    "worst_exit",
]

LEVELS = {"ok": 0, "warn": 1, "error": 2}
_STALE_S = 86400.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: level ok, warn or error, what was found, and the fix."""

    check: str
    level: str
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {"check": self.check, "level": self.level, "message": self.message, "fix": self.fix}


def worst_exit(findings: list[Finding]) -> int:
    """The exit code: the worst level among the findings."""
    return max((LEVELS[f.level] for f in findings), default=0)


def check_config(problems: tuple[Problem, ...], config_path: str, kind: str) -> list[Finding]:
    """Every config problem as a finding (errors and warnings), or one ok."""
    found = [
        Finding(
            "config",
            "error" if p.severity == "error" else "warn",
            f"[{p.rule}] {p.path}: found {p.found}; expected {p.expected}",
            p.fix,
        )
        for p in problems
    ]
    if not any(f.level == "error" for f in found):
        found.insert(0, Finding("config", "ok", f"{config_path} is valid ({kind})"))
    return found


def check_keys(table: RouteTable) -> list[Finding]:
    """Each profile: resolvable or not, and where its key came from (never the value)."""
    found: list[Finding] = []
    for provider in table.providers.values():
        for profile in provider.profiles:
            where = profile.source + (f" {profile.source_name}" if profile.source_name else "")
            if profile.secret is None:
                found.append(
                    Finding(
                        "keys",
                        "error",
                        f"{profile.id}: no usable key ({where})",
                        "set the variable in the process env, "
                        "$OPENCLAW_STATE_DIR/.env or env.vars, or store the "
                        "profile with openclaw models auth paste-api-key",
                    )
                )
            else:
                found.append(Finding("keys", "ok", f"{profile.id}: key from {where}"))
    return found


def describe_store(table: RouteTable) -> str:
    """The configured store, for a message: backend and where (a URL with its password masked)."""
    state = table.settings.state
    if state.backend == "redis" and state.url is not None:
        return f"redis at {mask_url(state.url.reveal())}"
    if state.backend == "file":
        return f"file at {state.directory}"
    return state.backend


def degraded_reason(store: StateStore) -> str | None:
    """Why ``store`` serves this process's local state instead of its shared backend, or None.

    A Redis store with ``onUnavailable: "local"`` falls back when Redis is unreachable; its
    reads then succeed, on an empty local state, so a successful read proves nothing.
    """
    reason = getattr(store, "degraded_reason", None)
    return reason if isinstance(reason, str) and reason else None


def _degraded(table: RouteTable, store: StateStore) -> Finding | None:
    """An error when the store fell back to local state ("0 entries readable" would be a false
    ok, and a running proxy in that state shares no cooldowns with other gateways)."""
    reason = degraded_reason(store)
    if reason is None:
        return None
    if table.settings.state.backend == "file":
        return Finding(
            "state",
            "error",
            f"state store {describe_store(table)} unusable ({reason}): a proxy in this state "
            "routes on its own memory, persists nothing and shares no cooldowns with other "
            "processes",
            "free disk space or fix the permissions of state.directory (the proxy writes its "
            "state back when the disk takes writes again)",
        )
    return Finding(
        "state",
        "error",
        f"state store {describe_store(table)} unreachable ({mask_url(reason)}): nothing shared "
        "was read; a proxy in this state routes on its own local state and shares no "
        "cooldowns with other gateways",
        "start Redis or correct state.url (the proxy returns to Redis when it answers)",
    )


def _damaged(table: RouteTable, store: StateStore, readable: str) -> Finding | None:
    """A warning when the journal holds damaged records: the state they held is not read, so
    "N entries readable" alone would be a false ok (a journal of random bytes reads as 0)."""
    count = damaged_records(store)
    if not count:
        return None
    from .stores.file import JOURNAL

    journal = Path(table.settings.state.directory or ".") / JOURNAL
    records = "record" if count == 1 else "records"
    return Finding(
        "state",
        "warn",
        f"{readable}; {count} damaged {records} in {journal} skipped (checksum failed): "
        "whatever state they held is not read",
        f"they are skipped on every read until the journal is next compacted; to start clean, "
        f"move {journal} aside (every cooldown in it is forgotten; the next write starts a "
        "new journal)",
    )


async def check_state(table: RouteTable, store: StateStore, *, now: float) -> list[Finding]:
    """The store answers (not degraded to local state); no probe claim or cooldown is stale."""
    try:
        items = await store.items()
    except Exception as exc:  # reported, never raised (the CLI masks the text)
        return [
            Finding(
                "state",
                "error",
                f"state store {describe_store(table)} unreadable "
                f"({type(exc).__name__}: {mask_url(str(exc))})",
                "check that Redis answers at state.url"
                if table.settings.state.backend == "redis"
                else f"check state.backend / the directory {table.settings.state.directory}",
            )
        ]
    degraded = _degraded(table, store)
    if degraded is not None:
        return [degraded]
    readable = f"{len(items)} state entries readable ({table.settings.state.backend})"
    found = [_damaged(table, store, readable) or Finding("state", "ok", readable)]
    for key, health in sorted(items.items()):
        if health.probe_owner and 0 < health.probe_until < now - 60:
            found.append(
                Finding(
                    "state",
                    "warn",
                    f"{key}: stale probe claim by {health.probe_owner}",
                    "openclaw-failover cooldowns clear --all",
                )
            )
        if health.cooldown_until > now + _STALE_S:
            found.append(
                Finding(
                    "state",
                    "warn",
                    f"{key}: {health_state(health, now)} for more than a day "
                    f"({health.cooldown_reason})",
                    "if the account is fixed: openclaw-failover cooldowns clear",
                )
            )
    return found


async def check_local(table: RouteTable, transports: Mapping[str, Transport]) -> list[Finding]:
    """Each local-tier candidate: reachable, and its model pulled."""
    found: list[Finding] = []
    seen = sorted(
        {
            (c.provider, c.model)
            for r in table.routes.values()
            for c in r.candidates
            if str(c.tier) == "local"
        }
    )
    for provider_id, model in seen:
        provider = table.providers[provider_id]
        health = await local_health(provider, model, transports.get(provider.api))
        if not health.reachable:
            found.append(
                Finding(
                    "local",
                    "warn",
                    f"{provider_id} at {health.base_url} not reachable ({health.detail})",
                    "start the local server (ollama serve)",
                )
            )
        elif not health.present:
            found.append(
                Finding(
                    "local",
                    "warn",
                    f"{provider_id}/{model}: {health.detail}",
                    f"ollama pull {model}",
                )
            )
        else:
            found.append(Finding("local", "ok", f"{provider_id}/{model} is served"))
    return found


async def check_proxy(table: RouteTable, client: httpx.AsyncClient) -> list[Finding]:
    """The proxy answers /readyz (started on demand by OpenClaw, so absence is a warning)."""
    proxy = table.settings.proxy
    url = f"http://{proxy.host}:{proxy.port}/readyz"
    headers = {"authorization": f"Bearer {proxy.token.reveal()}"} if proxy.token else {}
    try:
        reply = await client.get(url, headers=headers, timeout=3.0)
    except httpx.HTTPError as exc:
        return [
            Finding(
                "proxy",
                "warn",
                f"proxy not reachable at {url} ({type(exc).__name__})",
                "openclaw-failover serve (or let OpenClaw start it via localService)",
            )
        ]
    if reply.status_code == 200:
        return [Finding("proxy", "ok", f"proxy ready at {url}")]
    return [
        Finding(
            "proxy",
            "warn",
            f"proxy at {url} not ready (HTTP {reply.status_code})",
            "openclaw-failover status shows which candidates are cooling",
        )
    ]


def _dig(doc: Any, *path: str) -> Any:
    for part in path:
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def check_wiring(table: RouteTable, raw: Mapping[str, Any], *, workspace: Path) -> list[Finding]:
    """OpenClaw's file: the failover provider entry, the plugin entry and the skill."""
    if table.kind != "openclaw":
        return [Finding("openclaw", "ok", "standalone config: OpenClaw wiring not checked")]
    fix = "openclaw-failover install"
    proxy = table.settings.proxy
    entry = _dig(raw, "models", "providers", "failover")
    found: list[Finding] = []
    want = f"http://127.0.0.1:{proxy.port}/v1"
    if not isinstance(entry, dict):
        found.append(Finding("openclaw", "error", "no models.providers.failover entry", fix))
    elif entry.get("baseUrl") != want:
        found.append(
            Finding("openclaw", "error", f"models.providers.failover.baseUrl is not {want}", fix)
        )
    else:
        found.append(Finding("openclaw", "ok", f"provider entry points at {want}"))
    plugin = _dig(raw, "plugins", "entries", "openclaw-failover")
    found.append(
        Finding("openclaw", "ok", "plugin entry present")
        if isinstance(plugin, dict)
        else Finding("openclaw", "warn", 'no plugins.entries["openclaw-failover"]', fix)
    )
    skill = workspace / "skills" / "openclaw-failover" / "SKILL.md"
    found.append(
        Finding("openclaw", "ok", f"skill installed at {skill.parent}")
        if skill.is_file()
        else Finding("openclaw", "warn", f"skill not found at {skill.parent}", fix)
    )
    return found


def check_audit(table: RouteTable) -> list[Finding]:
    """audit.path is a file (not a folder, nor under a file) in a writable folder, and private
    (0600) if present."""
    path = Path(table.settings.audit.path) if table.settings.audit.path else None
    if path is None:
        return [Finding("audit", "warn", "no audit path configured", "set audit.path")]
    if path.is_dir():  # every write fails (EISDIR); "chmod 600" would be wrong advice
        return [
            Finding(
                "audit",
                "error",
                f"audit.path {path} is a directory; the audit is not written",
                f"set audit.path to a file, e.g. {path / 'audit.jsonl'}",
            )
        ]
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), path.parent)
    if folder.exists() and not folder.is_dir():  # a file where a folder must be: ENOTDIR
        return [
            Finding(
                "audit",
                "error",
                f"{folder} is not a directory; the audit at {path} is not written",
                f"set audit.path to a path under a folder (or move {folder} aside)",
            )
        ]
    if not os.access(folder, os.W_OK):
        return [Finding("audit", "error", f"{folder} is not writable", f"chown/chmod {folder}")]
    if path.exists() and path.stat().st_mode & 0o077:
        return [Finding("audit", "warn", f"{path} is readable by others", f"chmod 600 {path}")]
    return [Finding("audit", "ok", f"audit writable at {path}")]


async def run_checks(
    table: RouteTable,
    *,
    store: StateStore,
    transports: Mapping[str, Transport],
    client: httpx.AsyncClient,
    raw: Mapping[str, Any],
    workspace: Path,
    now: float,
) -> list[Finding]:
    """Every check after the config loaded (the caller adds ``check_config`` first)."""
    findings = check_keys(table)
    findings += await check_state(table, store, now=now)
    findings += await check_local(table, transports)
    findings += await check_proxy(table, client)
    findings += check_wiring(table, raw, workspace=workspace)
    findings += check_audit(table)
    return findings
