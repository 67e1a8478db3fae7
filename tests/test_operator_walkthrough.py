"""An on-call walk through the operator commands with broken inputs: each one a clear line
naming the option or file, the right exit code, and no advice that is wrong for the case."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from openclaw_failover._doctor import check_audit
from openclaw_failover._model import AuditSettings, Settings
from openclaw_failover.cli import _ops_view, app

from .test_report_analytics import hour0, write
from .test_status_gather import make_table


def _report(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run ``report ARGS`` on hour0's audit file; the exit code and stdout + stderr."""
    audit = tmp_path / "audit.jsonl"
    if not audit.exists():
        write(audit, hour0())
    result = CliRunner().invoke(
        app,
        ["report", "--audit", str(audit), *args],
        env={"HOME": str(tmp_path), "COLUMNS": "200"},
    )
    return result.exit_code, result.stdout + result.stderr


def test_a_look_back_too_long_for_the_calendar_names_the_option(tmp_path: Path) -> None:
    """``--since 99999999d`` (before year 1) and a look-back too large for a timestamp were an
    unexpected ValueError/OverflowError at the last seam (exit 1, no option named); ``--until``
    said only "year -271764 is out of range"."""
    for option, value in (
        ("--since", "99999999d"),
        ("--since", "10000000000000000000000d"),
        ("--since", "9" * 400 + "d"),
        ("--until", "99999999d"),
    ):
        code, out = _report(tmp_path, option, value)
        assert code == 2, (option, value, out)
        assert f"openclaw-failover: {option}: found {value!r}" in out, out
        assert "error:" not in out
        assert "Traceback" not in out


def test_a_plot_path_that_cannot_be_written_names_the_option(tmp_path: Path) -> None:
    """``--plot`` at a directory, or under a regular file, was an IsADirectoryError or a
    FileExistsError (naming the parent, not the plot) at the last seam with exit 1."""
    (tmp_path / "plots").mkdir()
    (tmp_path / "a-file").write_text("x")
    for target in (tmp_path / "plots", tmp_path / "a-file" / "p.png"):
        code, out = _report(tmp_path, "--since", "3650d", "--plot", str(target))
        assert code == 2, out
        assert f"openclaw-failover: --plot: cannot write {target}" in out, out
        assert "error:" not in out
        assert "Traceback" not in out


def _openclaw_text(openclaw: dict[str, object]) -> str:
    console = Console(record=True, width=300, color_system=None)
    _ops_view.print_openclaw(console, {"cooldowns": [], "state_dir": "/s", **openclaw}, 0.0)
    return console.export_text()


def test_unreadable_openclaw_state_is_not_reported_as_no_cooldowns() -> None:
    """Every OpenClaw state file was found but none could be read (a damaged SQLite): status
    said "nothing found under /s" and "none active", as if OpenClaw had no cooldown."""
    text = _openclaw_text({"read": [], "unreadable": ["/s/state/openclaw.sqlite: DatabaseError"]})
    assert "nothing found" not in text
    assert "none active" not in text
    assert "unknown" in text
    partly = _openclaw_text({"read": ["/s/a.json"], "unreadable": ["/s/b.sqlite: DatabaseError"]})
    assert "none active in the files read" in partly
    fine = _openclaw_text({"read": [], "unreadable": []})
    assert "nothing found under /s" in fine
    assert "none active" in fine


def test_doctor_audit_path_that_is_a_directory_or_under_a_file(tmp_path: Path) -> None:
    """audit.path naming a directory got "readable by others: chmod 600 <dir>"; one under a
    regular file got "audit writable". Every audit write fails in both (EISDIR, ENOTDIR)."""
    folder = tmp_path / "audit-dir"
    folder.mkdir()
    table = replace(make_table(), settings=Settings(audit=AuditSettings(path=str(folder))))
    [finding] = check_audit(table)
    assert finding.level == "error", finding
    assert f"{folder} is a directory" in finding.message
    assert "chmod" not in finding.fix
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    under = blocker / "audit.jsonl"
    table = replace(make_table(), settings=Settings(audit=AuditSettings(path=str(under))))
    [finding] = check_audit(table)
    assert finding.level == "error", finding
    assert f"{blocker} is not a directory" in finding.message


def test_report_with_an_unusable_config_says_why_and_which_file_it_reads(tmp_path: Path) -> None:
    """A config that does not load (here: a state backend it does not know; a key variable
    unset in this shell no longer stops report, tests/test_ops_keys_missing.py) made report say
    only "config X is not usable; reading <default>", with no reason."""
    config = tmp_path / "failover.json5"
    config.write_text(
        '{ agents: { defaults: { model: { primary: "openai/m1" } } },'
        ' providers: { openai: { auth: [{ key: "sk-walk-inline" }] } },'
        ' failover: { state: { backend: "nonsense" },'
        f' audit: {{ path: "{tmp_path / "mine.jsonl"}" }} }} }}'
    )
    result = CliRunner().invoke(
        app,
        ["report", "--config", str(config)],
        env={"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "oc"), "COLUMNS": "200"},
    )
    assert result.exit_code == 2
    note = result.stderr.splitlines()[0]
    assert note.startswith(f"note: config {config} is not usable (1 error(s), first [")
    assert "openclaw-failover validate" in note
    default = tmp_path / "oc" / "failover" / "audit.jsonl"
    assert note.endswith(f"; reading {default}, the default audit file")
