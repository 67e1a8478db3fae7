"""``report`` from the command line: which files it reads, its errors and the empty plot."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from openclaw_failover.cli import app

from .test_report_analytics import hour0, write


def _report(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """Run ``report ARGS``; exit code, stdout and stderr."""
    result = CliRunner().invoke(
        app, ["report", *args], env={"HOME": str(tmp_path), "COLUMNS": "200"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_rotated_copies_are_read_when_the_live_file_is_missing(tmp_path: Path) -> None:
    """Right after a rotation audit.jsonl may not exist yet; its rotated copy is still
    reported (hour0's 10 intents) instead of 'no audit file' (was: exit 2, no report)."""
    write(tmp_path / "audit.jsonl.1", hour0())
    code, out, err = _report(
        tmp_path, "--audit", str(tmp_path / "audit.jsonl"), "--since", "3650d", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["audit_files"] == [str(tmp_path / "audit.jsonl.1")]
    assert data["totals"]["intents"] == 10


def test_no_audit_file_at_all_is_a_clear_error(tmp_path: Path) -> None:
    """With neither the file nor a rotated copy, report exits 2 naming the path, no traceback."""
    code, out, err = _report(tmp_path, "--audit", str(tmp_path / "audit.jsonl"))
    assert code == 2
    assert f"no audit file at {tmp_path / 'audit.jsonl'}" in err
    assert "Traceback" not in out + err


def test_a_plot_with_no_data_says_so(tmp_path: Path) -> None:
    """An empty audit file still gives a PNG (no crash), and both the picture and stderr say
    there was nothing to plot; the JSON on stdout stays one parseable document."""
    (tmp_path / "audit.jsonl").write_bytes(b"")
    png = tmp_path / "p.png"
    code, out, err = _report(
        tmp_path, "--audit", str(tmp_path / "audit.jsonl"), "--plot", str(png), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["series"]["t"] == []
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "note: no intents in the report window: nothing to plot" in err


def test_a_plot_of_one_bucket_draws_that_point(tmp_path: Path) -> None:
    """One hour of data is one plotted point per line, equal to the report's series."""
    from openclaw_failover._plot import render_plot
    from openclaw_failover._report import build_report

    from .test_report_analytics import T0

    write(tmp_path / "audit.jsonl", hour0())
    data = build_report(tmp_path / "audit.jsonl", now=T0 + 3600, since_s=3600).to_json()
    plotted = render_plot(data, tmp_path / "one.png")
    assert plotted.lines["fallback_pct"] == (30.0,)
    assert plotted.note is None


def test_a_key_that_reached_an_audit_field_is_masked(tmp_path: Path) -> None:
    """A key from the environment that reached an audit line (as a model name, by a config
    slip) is masked in the report's JSON, its tables and the incident view (was: printed)."""
    key = "sk-proj-ReportReview0123456789abcdefXYZ"
    now = time.time()
    lines = [
        {"v": 1, "ts": now - 60, "event": "attempt", "request_id": "r1", "provider": "openai",
         "model": key, "reason": "auth", "status": 401},
        {"v": 1, "ts": now - 59, "event": "outcome", "request_id": "r1", "provider": "openai",
         "model": key, "outcome": "hard_stop", "detail": f"no answer from {key}"},
    ]  # fmt: skip
    audit = tmp_path / "audit.jsonl"
    audit.write_text("".join(json.dumps(x) + "\n" for x in lines))
    env = {"HOME": str(tmp_path), "COLUMNS": "300", "OPENAI_API_KEY": key}
    base = ["report", "--audit", str(audit), "--since", "3650d"]
    for args in (["--json"], [], ["--incident", "r1"]):
        result = CliRunner().invoke(app, [*base, *args], env=env)
        assert result.exit_code == 0, result.output
        assert "openai" in result.stdout  # the lines were really reported
        assert key not in result.stdout + result.stderr, args
