"""A read-only reader of the cooldowns OpenClaw itself holds for its auth profiles.

Where they live depends on the version (reference/openclaw.md section 3, openclaw-live.md 5.3):

- 2026.9.x: ``$OPENCLAW_STATE_DIR/state/openclaw.sqlite``, table ``config_machine_state``,
  row ``authProfiles.state`` (``value_json``: ``{version, usageStats}``).
- 2026.6-2026.8: ``agents/<id>/agent/openclaw-agent.sqlite``, table ``auth_profile_state``.
- earlier: ``agents/<id>/agent/auth-state.json`` or ``auth-profiles.json`` (``usageStats``).

Every source is read and named. SQLite files are opened with ``mode=ro``; nothing is ever
written. ``authProfiles.store`` and the ``profiles`` of the legacy files hold keys in plain text,
so they are never selected, and of the legacy files only ``usageStats`` is kept.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "OpenClawCooldown",
    "OpenClawState",
    "clear_instructions",
    "openclaw_state_dir",
    "read_openclaw_state",
]

_WINDOWS = (
    ("cooldown", "cooldownUntil", "cooldownReason"),
    ("disabled", "disabledUntil", "disabledReason"),
    ("blocked", "blockedUntil", "blockedReason"),
)


@dataclass(frozen=True, slots=True)
class OpenClawCooldown:
    """One window OpenClaw holds on a profile: kind is cooldown, disabled or blocked."""

    profile: str
    provider: str
    kind: str
    until: float
    reason: str | None
    model: str | None
    error_count: int
    failure_counts: Mapping[str, int]
    source: str

    def active(self, now: float) -> bool:
        """True while the window is still in the future."""
        return self.until > now

    def to_json(self, now: float) -> dict[str, Any]:
        """A JSON-ready dict (epoch seconds)."""
        return {
            "profile": self.profile,
            "provider": self.provider,
            "kind": self.kind,
            "until": self.until,
            "active": self.active(now),
            "reason": self.reason,
            "model": self.model,
            "error_count": self.error_count,
            "failure_counts": dict(self.failure_counts),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class OpenClawState:
    """What was found: the sources read, those that could not be read, and every window."""

    state_dir: str
    read: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    cooldowns: tuple[OpenClawCooldown, ...] = field(default=())


def openclaw_state_dir(environ: Mapping[str, str]) -> Path:
    """OpenClaw's state dir: ``OPENCLAW_STATE_DIR``, else ``$OPENCLAW_HOME``/``$HOME``/.openclaw."""
    if environ.get("OPENCLAW_STATE_DIR"):
        return Path(environ["OPENCLAW_STATE_DIR"]).expanduser()
    home = environ.get("OPENCLAW_HOME") or environ.get("HOME") or str(Path.home())
    return Path(home).expanduser() / ".openclaw"


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _windows(usage: Any, source: str) -> Iterator[OpenClawCooldown]:
    if not isinstance(usage, dict):
        return
    for profile, stats in usage.items():
        if not isinstance(stats, dict):
            continue
        counts = stats.get("failureCounts")
        failure_counts = (
            {str(k): _int(v) for k, v in counts.items()} if isinstance(counts, dict) else {}
        )
        for kind, until_key, reason_key in _WINDOWS:
            until_ms = stats.get(until_key)
            if not isinstance(until_ms, int | float) or until_ms <= 0:
                continue
            reason = stats.get(reason_key)
            model = stats.get("cooldownModel" if kind == "cooldown" else "blockedModel")
            yield OpenClawCooldown(
                profile=str(profile),
                provider=str(profile).split(":", 1)[0],
                kind=kind,
                until=float(until_ms) / 1000.0,
                reason=reason if isinstance(reason, str) else None,
                model=model if isinstance(model, str) else None,
                error_count=_int(stats.get("errorCount")),
                failure_counts=failure_counts,
                source=source,
            )


def _query(path: Path, sql: str, params: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one SELECT on a SQLite file opened read-only (never creates or writes it)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=1.0)
    try:
        conn.execute("PRAGMA query_only = ON")
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def _has_table(path: Path, table: str) -> bool:
    rows = _query(path, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
    return bool(rows)


def _read_machine_state(path: Path) -> list[OpenClawCooldown]:
    if not _has_table(path, "config_machine_state"):
        return []
    sql = "SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.state'"
    found: list[OpenClawCooldown] = []
    for (value,) in _query(path, sql):
        data = json.loads(value)
        label = f"{path} (config_machine_state authProfiles.state)"
        found += _windows(data.get("usageStats") if isinstance(data, dict) else None, label)
    return found


def _read_agent_db(path: Path) -> list[OpenClawCooldown]:
    if not _has_table(path, "auth_profile_state"):
        return []
    found: list[OpenClawCooldown] = []
    for key, value in _query(path, "SELECT state_key, state_json FROM auth_profile_state"):
        data = json.loads(value)
        label = f"{path} (auth_profile_state {key})"
        found += _windows(data.get("usageStats") if isinstance(data, dict) else None, label)
    return found


def _read_legacy_json(path: Path) -> list[OpenClawCooldown]:
    data = json.loads(path.read_text(encoding="utf-8"))
    usage = data.get("usageStats") if isinstance(data, dict) else None
    del data  # the legacy file also holds keys; keep nothing but usageStats
    return list(_windows(usage, f"{path} (usageStats)"))


def _sources(state_dir: Path) -> list[tuple[Path, Any]]:
    sources: list[tuple[Path, Any]] = [
        (state_dir / "state" / "openclaw.sqlite", _read_machine_state)
    ]
    agents = state_dir / "agents"
    if agents.is_dir():
        for agent_dir in sorted(p / "agent" for p in agents.iterdir() if p.is_dir()):
            sources.append((agent_dir / "openclaw-agent.sqlite", _read_agent_db))
            sources.append((agent_dir / "auth-state.json", _read_legacy_json))
            sources.append((agent_dir / "auth-profiles.json", _read_legacy_json))
    return sources


def read_openclaw_state(environ: Mapping[str, str] | None = None) -> OpenClawState:
    """Read every place OpenClaw keeps profile cooldowns; never raises for a bad source."""
    env = os.environ if environ is None else environ
    state_dir = openclaw_state_dir(env)
    read: list[str] = []
    unreadable: list[str] = []
    cooldowns: list[OpenClawCooldown] = []
    for path, reader in _sources(state_dir):
        if not path.is_file():
            continue
        try:
            cooldowns += reader(path)
        except (OSError, sqlite3.Error, ValueError) as exc:
            unreadable.append(f"{path}: {type(exc).__name__}")
            continue
        read.append(str(path))
    return OpenClawState(str(state_dir), tuple(read), tuple(unreadable), tuple(cooldowns))


def clear_instructions(
    state: OpenClawState, *, now: float, provider: str | None = None
) -> list[str]:
    """How an operator clears OpenClaw's own active windows by hand (we never write its state)."""
    active = [c for c in state.cooldowns if c.active(now) and provider in (None, c.provider)]
    if not active:
        return []
    lines = [
        "OpenClaw holds its own cooldowns; this tool never writes OpenClaw's state.",
        "To clear them: stop the Gateway (openclaw gateway stop), then:",
    ]
    for item in active:
        db, _, where = item.source.partition(" (")
        fields = ", ".join(f"'$.usageStats.\"{item.profile}\".{k}'" for k in _fields(item.kind))
        if where.startswith(("config_machine_state", "auth_profile_state")):
            lines += [f"  sqlite3 '{db}' <<'SQL'", "  " + _update_sql(where, fields), "  SQL"]
        else:
            keys = ", ".join(f'.usageStats."{item.profile}".{k}' for k in _fields(item.kind))
            lines.append(f"  jq 'del({keys})' '{db}' > tmp.json && mv tmp.json '{db}'")
    lines.append(
        "then start it again (openclaw gateway start). Or wait: billing windows end by "
        "themselves; a recharged account is probed again when the window ends."
    )
    return lines


def _fields(kind: str) -> tuple[str, ...]:
    return (f"{kind}Until", f"{kind}Reason") + (("cooldownModel",) if kind == "cooldown" else ())


def _update_sql(where: str, fields: str) -> str:
    """The UPDATE an operator runs by hand to drop one window (printed, never executed here)."""
    if where.startswith("config_machine_state"):
        return (
            f"UPDATE config_machine_state SET value_json = json_remove(value_json, {fields}) "  # noqa: S608
            "WHERE state_key = 'authProfiles.state';"
        )
    return f"UPDATE auth_profile_state SET state_json = json_remove(state_json, {fields});"  # noqa: S608
