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
