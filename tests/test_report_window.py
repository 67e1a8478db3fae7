"""``report --since/--until``: the window [since, until), its errors, its statement in the text,
JSON and plot; client errors in the text; the bounded trigger memory of unfinished requests."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app

from .test_report_analytics import PRIMARY, T0, TO_MINI, hour0, hour1, intent, write


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _report(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """Run ``report --audit tmp/audit.jsonl ARGS``; exit code, stdout and stderr."""
    result = CliRunner().invoke(
        app,
        ["report", "--audit", str(tmp_path / "audit.jsonl"), *args],
        env={"HOME": str(tmp_path), "COLUMNS": "200"},
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_hours(tmp_path: Path) -> Path:
    """hour0 (10 intents from T0) and hour1 (4 intents from T0 + 1 h) in tmp/audit.jsonl."""
    write(tmp_path / "audit.jsonl", hour0() + hour1())
    return tmp_path


def test_window_end_is_exclusive_and_stated(two_hours: Path) -> None:
    """--since/--until as ISO times (Z, an offset) keep [since, until): hour1's first attempt,
    stamped exactly at until, is out; the JSON states both ends and that until was given."""
    code, out, err = _report(
        two_hours, "--since", _iso(T0), "--until", "2027-01-15T03:00:00+02:00", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert _iso(T0 + 3600) == "2027-01-15T01:00:00Z"  # the offset above is this instant
    assert (data["since"], data["until"]) == (
        "2027-01-15T00:00:00+00:00",
        "2027-01-15T01:00:00+00:00",
    )
    assert data["until_given"] is True
    assert data["totals"]["intents"] == 10
    # hour0 only (anthropic, ollama, openai); hour1, from until on, would add 4 to each
    assert [r["attempts"] for r in data["rates"]] == [10, 2, 4]


def test_relative_until_means_that_long_ago(tmp_path: Path) -> None:
    """--since 150m --until 1h keeps only the intent 2 h ago, not those 3 h and 30 min ago."""
    now = time.time()
    lines = intent(0, now - 3 * 3600, PRIMARY, "answered")
    lines += intent(1, now - 2 * 3600, TO_MINI, "answered_downgraded")
    lines += intent(2, now - 1800, PRIMARY, "answered")
    write(tmp_path / "audit.jsonl", lines)
    code, out, err = _report(tmp_path, "--since", "150m", "--until", "1h", "--json")
    assert code == 0, err
    totals = json.loads(out)["totals"]
    assert (totals["intents"], totals["fallback"]) == (1, 1)


def test_the_text_report_states_the_window(two_hours: Path) -> None:
    """The text output says which window it covers, as given or up to now."""
    code, out, err = _report(two_hours, "--since", _iso(T0 + 600), "--until", _iso(T0 + 2400))
    assert code == 0, err
    assert "window (UTC): from 2027-01-15T00:10:00+00:00 until 2027-01-15T00:40:00+00:00" in out
    code, out, err = _report(two_hours, "--since", "1h")
    assert code == 0, err
    assert "until now (" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--until", "2027-01-15T01:40"],
            "--until: found '2027-01-15T01:40', a time with no UTC offset; expected Z or an "
            "offset (the report is in UTC)",
        ),
        (
            ["--since", "2027-01-15"],
            "--since: found '2027-01-15', a time with no UTC offset",
        ),
        (
            ["--until", "yesterday"],
            "--until: found 'yesterday'; expected a look-back (a number and a unit s/m/h/d/w, "
            "e.g. 90m) or an ISO-8601 time with Z or an offset",
        ),
        (
            ["--since", "2027-02-30T00:00Z"],
            "--since: found '2027-02-30T00:00Z' (day is out of range for month); expected",
        ),
        (
            ["--since", "2027-01-15T02:00Z", "--until", "2027-01-15T01:00Z"],
            "--until: found '2027-01-15T01:00Z' (2027-01-15T01:00:00Z), not after --since "
            "'2027-01-15T02:00Z' (2027-01-15T02:00:00Z); expected an end later than the start",
        ),
        (
            ["--since", "2027-01-15T01:00Z", "--until", "2027-01-15T03:00+02:00"],
            "not after --since",
        ),
        (["--until", "0h"], "--until: found '0h'; expected a duration above zero"),
    ],
)
def test_bad_window_values_are_clear_errors(
    two_hours: Path, args: list[str], expected: str
) -> None:
    """A bad --since/--until exits 2 naming the option, the value and what was expected."""
    code, out, err = _report(two_hours, *args)
    assert code == 2
    assert expected in err
    assert "Traceback" not in out + err


def test_window_parsing_of_each_form() -> None:
    """Look-backs count back from now; Z (either case) and offsets are the same instant."""
    from openclaw_failover._report import report_window

    now = T0 + 86400.0
    assert report_window("90m", "30m", now=now) == (now - 5400, now - 1800)
    assert report_window("7d", None, now=now) == (now - 7 * 86400, None)
    start, end = report_window("2027-01-15T00:00z", "2027-01-15T03:00:00+02:00", now=now)
    assert (start, end) == (T0, T0 + 3600)


def test_client_errors_are_in_the_text_report(tmp_path: Path) -> None:
    """The text report shows the client errors the JSON has (total and per day); before, only
    --json had them."""
    now = time.time()
    lines = [
        orjson.loads(orjson.dumps(r.to_json())) for r in intent(0, now - 600, PRIMARY, "answered")
    ]
    lines += [
        {"v": 1, "ts": now - 600 + i, "event": "outcome", "request_id": f"c{i}",
         "outcome": "client_error", "status": 400}
        for i in range(3)
    ]  # fmt: skip
    (tmp_path / "audit.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    code, out, err = _report(tmp_path, "--since", "1h", "--json")
    days = json.loads(out)["days"]
    assert [d["client_errors"] for d in days] == [3]
    code, out, err = _report(tmp_path, "--since", "1h")
    assert code == 0, err
    assert "Client errors" in out
    assert f"in no share): 3 ({days[0]['start']} 3)" in out


def test_the_plot_x_axis_covers_the_window(two_hours: Path, tmp_path: Path) -> None:
    """The plot's x axis is the report window [since, until), not just the hours with data;
    an empty window still shows its own span."""
    from openclaw_failover._plot import render_plot
    from openclaw_failover._report import build_report

    audit = two_hours / "audit.jsonl"
    now = T0 + 86400.0
    data = build_report(
        audit, now=now, since_s=now - T0, until_at=T0 + 3 * 3600, series_bucket_s=900
    ).to_json()
    plotted = render_plot(data, tmp_path / "w.png")
    assert plotted.x_range == ("2027-01-15T00:00:00Z", "2027-01-15T03:00:00Z")
    assert plotted.note is None
    empty = build_report(
        audit, now=now, since_s=now - (T0 + 5 * 3600), until_at=T0 + 6 * 3600
    ).to_json()
    plotted = render_plot(empty, tmp_path / "e.png")
    assert plotted.x_range == ("2027-01-15T05:00:00Z", "2027-01-15T06:00:00Z")
    assert plotted.note == "no intents in the report window: nothing to plot"


def test_unfinished_requests_do_not_grow_the_trigger_memory_without_bound() -> None:
    """Failed requests whose outcome line never comes (a plugin run with no agent_end) are
    forgotten oldest first past a bound (was: every one kept to the end of the pass); a
    request that does finish still gets its first failure as its trigger."""
    from openclaw_failover._report import _PENDING_MAX, _Pass

    run = _Pass(since=0.0, until=T0 + 86400.0)
    orphans = _PENDING_MAX + 500
    for n in range(orphans):
        run.add({"ts": T0 + n / 100, "event": "attempt", "request_id": f"o{n}",
                 "provider": "p", "model": "m", "attempt": 1, "reason": "timeout"})  # fmt: skip
    assert len(run.pending) == _PENDING_MAX
    assert "o0" not in run.pending
    assert f"o{orphans - 1}" in run.pending
    for record in intent(7, T0 + 200, TO_MINI, "answered_downgraded"):
        run.add(record.to_json())
    assert run.triggers == {"rate_limit": 1}
    assert "r7" not in run.pending


def test_manual_interventions_are_all_counted_and_the_newest_listed(tmp_path: Path) -> None:
    """25 manual interventions: all 25 counted, the newest 20 listed."""
    from openclaw_failover._report import build_report

    lines = [
        {"v": 1, "ts": T0 + i, "event": "manual_intervention", "profile": "p", "detail": str(i)}
        for i in range(25)
    ]
    audit = tmp_path / "audit.jsonl"
    audit.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    down = build_report(audit, now=T0 + 3600, since_s=7200).to_json()["downgrades"]
    assert down["manual_interventions"] == 25
    assert [m["detail"] for m in down["manual"]] == [str(i) for i in range(5, 25)]
