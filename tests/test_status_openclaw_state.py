"""Reading OpenClaw's own cooldowns: every version's location, read-only, never a key."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from openclaw_failover._openclaw_state import clear_instructions, read_openclaw_state

NOW = 1_800_000_000.0
STORE_KEY = "sk-openclaw-store-DISTINCTIVE-7d1f"  # the plaintext key OpenClaw keeps in its store


def seed_2026_9_6(state_dir: Path, *, until_s: float = NOW + 600, key: str = STORE_KEY) -> Path:
    """Write ``state/openclaw.sqlite`` exactly as OpenClaw 2026.9.6 does after a 429 and a 402."""
    path = state_dir / "state" / "openclaw.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS config_machine_state (\n  state_key TEXT NOT NULL PRIMARY KEY,"
        "\n  value_json TEXT NOT NULL,\n  updated_at_ms INTEGER NOT NULL\n) STRICT"
    )
    store = {
        "version": 1,
        "profiles": {
            "fakeprimary:manual": {"type": "api_key", "provider": "fakeprimary", "key": key}
        },
    }
    state = {
        "version": 1,
        "usageStats": {
            "fakeprimary:manual": {
                "cooldownUntil": int(until_s * 1000),
                "cooldownReason": "rate_limit",
                "cooldownModel": "fake-model",
                "errorCount": 1,
                "failureCounts": {"rate_limit": 1},
                "lastFailureAt": int(NOW * 1000),
            },
            "openai:backup": {
                "disabledUntil": int((NOW + 3600) * 1000),
                "disabledReason": "billing",
                "errorCount": 2,
                "failureCounts": {"billing": 2},
            },
            "openai:old": {"cooldownUntil": int((NOW - 60) * 1000), "cooldownReason": "timeout"},
        },
    }
    for key_name, value in (("authProfiles.store", store), ("authProfiles.state", state)):
        conn.execute(
            "INSERT INTO config_machine_state VALUES (?, ?, ?)",
            (key_name, json.dumps(value), int(NOW * 1000)),
        )
    conn.commit()
    conn.close()
    return path


def seed_legacy(state_dir: Path) -> None:
    """An older agent dir: per-agent SQLite (2026.6-8) and a legacy auth-profiles.json."""
    agent = state_dir / "agents" / "main" / "agent"
    agent.mkdir(parents=True)
    conn = sqlite3.connect(agent / "openclaw-agent.sqlite")
    conn.execute(
        "CREATE TABLE auth_profile_state (state_key TEXT NOT NULL PRIMARY KEY, "
        "state_json TEXT NOT NULL, updated_at INTEGER NOT NULL) STRICT"
    )
    usage = {
        "usageStats": {
            "anthropic:work": {
                "cooldownUntil": int((NOW + 90) * 1000),
                "cooldownReason": "overloaded",
            }
        }
    }
    conn.execute("INSERT INTO auth_profile_state VALUES ('primary', ?, 0)", (json.dumps(usage),))
    conn.commit()
    conn.close()
    legacy = {
        "version": 1,
        "profiles": {"groq:default": {"type": "api_key", "key": STORE_KEY}},
        "usageStats": {
            "groq:default": {
                "disabledUntil": int((NOW + 50) * 1000),
                "disabledReason": "auth_permanent",
            }
        },
    }
    (agent / "auth-profiles.json").write_text(json.dumps(legacy))


def digest(path: Path) -> str:
    """The file's SHA-256 (to prove it was not written)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reads_2026_9_6_machine_state_and_names_the_source(tmp_path: Path) -> None:
    """The 2026.9.6 row authProfiles.state gives each window with reason, model and the source."""
    db = seed_2026_9_6(tmp_path)
    state = read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)})
    assert state.read == (str(db),)
    windows = {(c.profile, c.kind): c for c in state.cooldowns}
    cooldown = windows[("fakeprimary:manual", "cooldown")]
    assert (cooldown.reason, cooldown.model, cooldown.until) == (
        "rate_limit",
        "fake-model",
        NOW + 600,
    )
    assert cooldown.active(NOW)
    assert "config_machine_state authProfiles.state" in cooldown.source
    assert windows[("openai:backup", "disabled")].reason == "billing"
    assert not windows[("openai:old", "cooldown")].active(NOW)


def test_reads_per_agent_sqlite_and_legacy_json(tmp_path: Path) -> None:
    """Older locations are read too, and each is listed as read."""
    seed_legacy(tmp_path)
    state = read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)})
    assert len(state.read) == 2
    assert {(c.profile, c.kind, c.reason) for c in state.cooldowns} == {
        ("anthropic:work", "cooldown", "overloaded"),
        ("groq:default", "disabled", "auth_permanent"),
    }


def test_never_writes_and_never_holds_the_key(tmp_path: Path) -> None:
    """Reading leaves the files byte-identical (no WAL/journal created) and no key in any value."""
    db = seed_2026_9_6(tmp_path)
    seed_legacy(tmp_path)
    before = digest(db)
    state = read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)})
    assert digest(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["openclaw.sqlite"]
    dumped = json.dumps([c.to_json(NOW) for c in state.cooldowns]) + repr(state)
    assert STORE_KEY not in dumped


def test_missing_and_broken_sources(tmp_path: Path) -> None:
    """No state dir reads nothing; a corrupt database is listed as unreadable, not raised."""
    assert read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path / "none")}).read == ()
    bad = tmp_path / "state" / "openclaw.sqlite"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a database at all" * 10)
    state = read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)})
    assert state.read == ()
    assert len(state.unreadable) == 1


def test_clear_instructions_sql_really_clears(tmp_path: Path) -> None:
    """The printed UPDATE, run by hand on a copy, removes the billing window it names."""
    db = seed_2026_9_6(tmp_path)
    state = read_openclaw_state({"OPENCLAW_STATE_DIR": str(tmp_path)})
    lines = clear_instructions(state, now=NOW, provider="openai")
    assert any("openclaw gateway stop" in line for line in lines)
    sql = next(line.strip() for line in lines if line.strip().startswith("UPDATE"))
    conn = sqlite3.connect(db)
    conn.execute(sql)
    conn.commit()
    (value,) = conn.execute(
        "SELECT value_json FROM config_machine_state WHERE state_key='authProfiles.state'"
    ).fetchone()
    conn.close()
    assert "disabledUntil" not in json.loads(value)["usageStats"]["openai:backup"]
    assert "cooldownUntil" in json.loads(value)["usageStats"]["fakeprimary:manual"]
