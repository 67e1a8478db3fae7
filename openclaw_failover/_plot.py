"""The fallback-percentage plot: a PNG drawn from the report's own JSON series (matplotlib, Agg).

matplotlib is an optional extra (``openclaw-failover[plots]``) and is imported only here, when a
plot is asked for. :func:`render_plot` returns the series read back from the drawn lines, so a
test can check that the picture shows exactly the report's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["PlotUnavailable", "PlottedSeries", "render_plot"]


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed; the message says how to get it."""


@dataclass(frozen=True, slots=True)
class PlottedSeries:
    """What was drawn: the file and, per line label, the y values as plotted."""

    path: Path
    times: tuple[str, ...]
    lines: Mapping[str, tuple[float, ...]]
    thresholds: Mapping[str, float]
    #: Why the picture has no line (no intent in the window), for the CLI to say; else None.
    note: str | None = None
    #: The x axis as drawn (UTC, ``%Y-%m-%dT%H:%M:%SZ``): the report window (widened to any
    #: bucket start before it, or a line stamped after now), or the data alone without a window.
    x_range: tuple[str, str] | None = None


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotUnavailable(
            "--plot needs matplotlib; install it with: pip install 'openclaw-failover[plots]'"
        ) from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _x_limits(
    report: Mapping[str, Any], times: list[datetime], step: timedelta
) -> tuple[datetime, datetime] | None:
    """The report window ``[since, until)``, widened to the plotted points (a bucket starts on
    its boundary, before ``since``); without a start, the points alone, half a bucket around."""
    since, until = report.get("since"), report.get("until")
    if since and until:
        start, end = datetime.fromisoformat(since), datetime.fromisoformat(until)
        return min([start, *times[:1]]), max([end, *times[-1:]])
    if times:
        return times[0] - step / 2, times[-1] + step / 2
    return None


def render_plot(report: Mapping[str, Any], path: str | Path) -> PlottedSeries:
    """Draw fallback, local-tier and hard-stop % per bucket with the alert thresholds (PNG)."""
    plt = _pyplot()
    series = report["series"]
    thresholds = report["thresholds"]
    times = [_instant(t) for t in series["t"]]
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    try:
        drawn = {}
        for key, label, style in (
            ("fallback_pct", "fallback % (cloud + local)", "-"),
            ("local_pct", "local tier %", "--"),
            ("hard_stop_pct", "hard stop %", ":"),
        ):
            (line,) = ax.plot(times, series[key], style, marker=".", label=label)
            drawn[key] = tuple(float(y) for y in line.get_ydata())
        limits = {
            "localShare": float(thresholds["localShare"]) * 100,
            "hardStopShare": float(thresholds["hardStopShare"]) * 100,
        }
        ax.axhline(
            limits["localShare"],
            color="tab:orange",
            linewidth=1,
            label=f"local alert {limits['localShare']:g}%",
        )
        ax.axhline(
            limits["hardStopShare"],
            color="tab:red",
            linewidth=1,
            label=f"hard-stop alert {limits['hardStopShare']:g}%",
        )
        limits_x = _x_limits(report, times, timedelta(seconds=int(series["bucket_s"])))
        if limits_x is not None:
            ax.set_xlim(*limits_x)
        else:  # no window, no data: not an x axis of bare numbers around zero
            ax.set_xticks([])
        note = None
        if not times:  # say so on the picture
            note = "no intents in the report window: nothing to plot"
            ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center")
        ax.set_ylabel(f"% of intents per {_span(int(series['bucket_s']))}")
        ax.set_ylim(0, 100)
        ax.set_title("openclaw-failover: fallback share over time (UTC)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
        fig.autofmt_xdate()
        drawn_x = _drawn_x(ax) if limits_x is not None else None
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, format="png")
    finally:
        plt.close(fig)
    return PlottedSeries(
        path=target,
        times=tuple(series["t"]),
        lines=drawn,
        thresholds=limits,
        note=note,
        x_range=drawn_x,
    )


def _drawn_x(ax: Any) -> tuple[str, str]:
    """The x limits read back from the axes, as UTC text."""
    from matplotlib import dates

    num2date: Any = dates.num2date  # untyped in matplotlib
    low, high = (num2date(x).strftime("%Y-%m-%dT%H:%M:%SZ") for x in ax.get_xlim())
    return low, high


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        return "hour" if seconds == 3600 else f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
