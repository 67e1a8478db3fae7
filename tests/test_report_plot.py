"""The fallback plot: a real PNG whose drawn series equal the report's JSON series."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from openclaw_failover._plot import render_plot
from openclaw_failover._report import build_report

from .test_report_analytics import T0, hour0, hour1, write


@pytest.fixture
def report_json(tmp_path: Path) -> dict[str, object]:
    """The report over the two known hours."""
    audit = tmp_path / "audit.jsonl"
    write(audit, hour0() + hour1())
    return build_report(audit, now=T0 + 7200, since_s=86400).to_json()


def test_plot_is_a_png_of_the_expected_size(report_json: dict[str, object], tmp_path: Path) -> None:
    """The file starts with the PNG signature and is 1000 x 450 pixels."""
    plotted = render_plot(report_json, tmp_path / "out" / "fallback.png")
    data = plotted.path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1000, 450)
    assert len(data) > 10_000


def test_plotted_series_equal_the_report_json(
    report_json: dict[str, object], tmp_path: Path
) -> None:
    """The y values read back from the drawn lines are the report's series, and the thresholds
    drawn are the configured alert shares."""
    plotted = render_plot(report_json, tmp_path / "fallback.png")
    series = report_json["series"]
    assert isinstance(series, dict)
    for key in ("fallback_pct", "local_pct", "hard_stop_pct"):
        assert list(plotted.lines[key]) == series[key]
    assert list(plotted.times) == series["t"]
    assert plotted.lines["fallback_pct"] == (30.0, 50.0)
    assert plotted.thresholds == {"localShare": 35.0, "hardStopShare": 15.0}
