"""``report --bucket``: the help names the units the parser takes; a zero bucket is refused."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from openclaw_failover.cli import app

from .test_report_analytics import hour0, write


def test_report_refuses_a_zero_bucket(tmp_path: Path) -> None:
    """--bucket 0h exits 2 with an error naming --bucket (was: silently a 1 s bucket)."""
    audit = tmp_path / "audit.jsonl"
    write(audit, hour0())
    args = ["report", "--audit", str(audit), "--since", "3650d", "--json", "--bucket"]
    result = CliRunner().invoke(app, [*args, "0h"], env={"HOME": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert "--bucket: found '0h'" in result.output
    assert "Traceback" not in result.output
    ok = CliRunner().invoke(app, [*args, "1h"], env={"HOME": str(tmp_path)})
    assert ok.exit_code == 0, ok.output


def test_bucket_help_lists_the_units() -> None:
    """The help says which units --bucket takes, as its error does (s/m/h/d)."""
    result = CliRunner().invoke(app, ["report", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "a number and a unit s/m/h/d" in result.output


def test_report_bucket_takes_only_the_units_it_names(tmp_path: Path) -> None:
    """--bucket 1w (a unit its help and error do not name) is refused like any other typo,
    with the error naming --bucket and the units."""
    audit = tmp_path / "audit.jsonl"
    write(audit, hour0())
    args = ["report", "--audit", str(audit), "--since", "3650d", "--json", "--bucket", "1w"]
    result = CliRunner().invoke(app, args, env={"HOME": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert "--bucket: found '1w'" in result.output
    assert "s/m/h/d" in result.output


def test_the_text_report_says_how_many_lines_it_skipped(tmp_path: Path) -> None:
    """A report over an audit file with unreadable lines says it is partial, and how many."""
    audit = tmp_path / "audit.jsonl"
    write(audit, hour0())
    with audit.open("a") as f:
        f.write("{torn\n[1, 2]\n")
    args = ["report", "--audit", str(audit), "--since", "3650d"]
    result = CliRunner().invoke(app, args, env={"HOME": str(tmp_path), "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # however the console wrapped it
    assert "2 unreadable lines skipped (the report is partial)" in said
