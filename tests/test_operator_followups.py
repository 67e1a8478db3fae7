"""Follow-ups to the on-call walk: a damaged state journal is named, not "state ok"; every
output says what it means once, in the form asked for, with counts read as English."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from openclaw_failover.stores.file import FileStateStore

from .fixtures.redis_server import free_port
from .test_report_analytics import hour0, write


def _config(tmp_path: Path, state: dict[str, Any]) -> Path:
    """A standalone config: p1/m1 (inline key); nothing listens upstream nor on the proxy port."""
    path = tmp_path / "failover.json"
    doc = {
        "agents": {"defaults": {"model": {"primary": "p1/m1", "fallbacks": []}}},
        "providers": {"p1": {"auth": [{"key": "sk-followups-0123456789", "profile": "main"}]}},
        "models": {
            "providers": {
                "p1": {"api": "openai-completions", "baseUrl": f"http://127.0.0.1:{free_port()}"}
            }
        },
        "failover": {
            "state": state,
            "proxy": {"port": free_port()},
            "audit": {"path": str(tmp_path / "audit.jsonl")},
        },
    }
    path.write_text(json.dumps(doc))
    return path


def _invoke(tmp_path: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one command, with an isolated HOME and OpenClaw dir."""
    env = {
        "HOME": str(tmp_path / "home"),
        "OPENCLAW_STATE_DIR": str(tmp_path / "oc"),
        "OPENCLAW_CONFIG_PATH": str(tmp_path / "missing.json"),
        "COLUMNS": "250",
    }
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def _damaged_journal(directory: Path) -> int:
    """4 KB of random bytes as the journal; the number of complete (newline-ended) lines."""
    directory.mkdir(mode=0o700)
    data = random.Random(7).randbytes(4096)
    (directory / "state.journal").write_bytes(data)
    return data.count(b"\n")


def _damage_logged(caplog: pytest.LogCaptureFixture) -> int:
    """How many log records (stderr lines, without pytest) spoke of damaged records; cleared."""
    count = sum("damaged" in r.getMessage() for r in caplog.records)
    caplog.clear()
    return count


def test_a_journal_of_random_bytes_is_named_by_doctor_and_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every record failing its checksum: doctor said "state ok, 0 state entries readable" and
    stderr had one line per bad record (15 for 4 KB); status said nothing of it."""
    caplog.set_level(logging.WARNING)
    state = tmp_path / "state"
    damaged = _damaged_journal(state)
    assert damaged > 2
    config = _config(tmp_path, {"backend": "file", "directory": str(state)})
    code, out, _ = _invoke(tmp_path, "doctor", "--config", str(config), "--json")
    assert code >= 1, out
    (finding,) = [f for f in json.loads(out) if f["check"] == "state"]
    assert finding["level"] == "warn"
    assert f"{damaged} damaged records in {state / 'state.journal'} skipped" in finding["message"]
    assert f"move {state / 'state.journal'} aside" in finding["fix"]
    assert _damage_logged(caplog) <= 1
    code, out, _ = _invoke(tmp_path, "status", "--config", str(config))
    assert code == 0, out
    lines = [line for line in out.splitlines() if "damaged" in line]
    assert len(lines) == 1, out
    assert f"{damaged} damaged records" in lines[0]
    assert _damage_logged(caplog) <= 1
    code, out, _ = _invoke(tmp_path, "status", "--config", str(config), "--json")
    assert json.loads(out)["store_damaged_records"] == damaged


async def test_the_file_store_counts_damaged_records_and_logs_once_per_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The count is the journal's as last read (0 again once it is replaced), and one read
    logs one summary line, not one line per damaged record."""
    state = tmp_path / "state"
    damaged = _damaged_journal(state)
    store = FileStateStore(state)
    with caplog.at_level(logging.WARNING, logger="openclaw_failover.stores"):
        assert await store.items() == {}
    assert store.damaged_records == damaged
    said = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert said == [f"state journal {state / 'state.journal'}: skipped {damaged} damaged records"]
    (state / "state.journal").unlink()
    assert await store.items() == {}
    assert store.damaged_records == 0
    await store.aclose()


def test_report_incident_json_prints_one_json_document(tmp_path: Path) -> None:
    """``report --incident X --json`` printed the Markdown template; it is JSON now, with the
    report's field names (audit_files) and the audit's (request_id, route_version)."""
    audit = tmp_path / "audit.jsonl"
    write(audit, hour0())
    code, out, _ = _invoke(tmp_path, "report", "--audit", str(audit), "--incident", "r9", "--json")
    assert code == 0, out
    data = json.loads(out)
    _, report, _ = _invoke(tmp_path, "report", "--audit", str(audit), "--since", "3650d", "--json")
    assert data["audit_files"] == json.loads(report)["audit_files"]
    assert (data["request_id"], data["found"], data["route_version"]) == ("r9", True, "rv1")
    assert data["config_path"] == "/etc/oc.json"
    assert data["outcome"] == "hard_stop"
    assert [r["event"] for r in data["records"]].count("attempt") == 3
    assert {r["request_id"] for r in data["records"]} == {"r9"}
    assert data["samples"]
    assert "r9" not in {r["request_id"] for r in data["samples"]}
    code, out, _ = _invoke(
        tmp_path, "report", "--audit", str(audit), "--incident", "nope", "--json"
    )
    assert code == 1
    missing = json.loads(out)
    assert (missing["request_id"], missing["found"], missing["records"]) == ("nope", False, [])


def test_one_unreadable_audit_line_is_singular(tmp_path: Path) -> None:
    """The report said "1 unreadable lines skipped"."""
    audit = tmp_path / "audit.jsonl"
    write(audit, hour0(), tail=b"not json\n")
    code, out, _ = _invoke(tmp_path, "report", "--audit", str(audit), "--since", "3650d")
    assert code == 0, out
    assert "; 1 unreadable line skipped (the report is partial)" in " ".join(out.split())
    write(audit, hour0(), tail=b"not json\nnor this\n")
    _, out, _ = _invoke(tmp_path, "report", "--audit", str(audit), "--since", "3650d")
    assert "; 2 unreadable lines skipped (the report is partial)" in " ".join(out.split())


def test_wait_port_refuses_a_negative_or_endless_timeout(tmp_path: Path) -> None:
    """``--timeout -1`` was accepted ("did not accept connections within -1 s", exit 1); nan
    and inf never gave up. Each is an option error naming --timeout (exit 2)."""
    address = f"127.0.0.1:{free_port()}"
    for value in ("-1", "-0.5", "nan", "inf"):  # -1 first: the old code returned at once
        code, out, err = _invoke(tmp_path, "service", "wait-port", address, "--timeout", value)
        assert code == 2, (value, out, err)
        assert f"openclaw-failover: --timeout: found {value}; expected a finite number" in err


def test_answering_no_to_cooldowns_clear_names_the_command(tmp_path: Path) -> None:
    """ "n" printed a bare "nothing cleared"; the command's other refusals start with
    "cooldowns clear:"."""
    config = _config(tmp_path, {"backend": "file", "directory": str(tmp_path / "state")})
    code, _, err = _invoke(
        tmp_path, "cooldowns", "clear", "--all", "--config", str(config), stdin="n\n"
    )
    assert code == 1
    assert "openclaw-failover: cooldowns clear: nothing cleared: the answer was no" in err


def test_an_unreachable_redis_is_said_once_by_status_and_doctor(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down (onUnavailable local): status printed its degraded line and the store's own
    warning to stderr with the same reason, twice in all; doctor too beside its finding."""
    caplog.set_level(logging.WARNING)
    url = f"redis://127.0.0.1:{free_port()}/0"
    config = _config(tmp_path, {"backend": "redis", "url": url})
    code, out, _ = _invoke(tmp_path, "status", "--config", str(config))
    assert code == 0, out  # status's exit codes are not documented: unchanged
    assert " ".join(out.split()).count("redis unavailable") == 1, out
    assert [r.getMessage() for r in caplog.records if "redis unavailable" in r.getMessage()] == []
    code, out, _ = _invoke(tmp_path, "doctor", "--config", str(config), "--json")
    assert code == 2, out
    assert [f["level"] for f in json.loads(out) if f["check"] == "state"] == ["error"]
    assert [r.getMessage() for r in caplog.records if "redis unavailable" in r.getMessage()] == []
