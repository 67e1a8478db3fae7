"""Operations commands over files rather than upstreams: report, service, demo."""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ._ops import ConfigOpt, JsonOpt, KindOpt, _console, _fail, echo_json, load, masked

__all__ = ["demo", "report", "service_app"]


def report(
    since: Annotated[
        str,
        typer.Option(
            help="Window start: a look-back (7d, 24h, 90m, 2w) or an ISO-8601 time with Z or an "
            "offset (2026-01-31T01:10:00Z); a time without one is refused."
        ),
    ] = "7d",
    until: Annotated[
        str | None,
        typer.Option(
            help="Window end, exclusive (default: now): a look-back (30m = 30 minutes ago) or an "
            "ISO-8601 time with Z or an offset, as --since."
        ),
    ] = None,
    as_json: JsonOpt = False,
    plot: Annotated[Path | None, typer.Option(help="Write the fallback-% plot (PNG) here.")] = None,
    incident: Annotated[
        str | None,
        typer.Option(help="Print the incident template for this request id (--json: as JSON)."),
    ] = None,
    audit: Annotated[Path | None, typer.Option(help="Audit file (default: audit.path).")] = None,
    bucket: Annotated[
        str, typer.Option(help="Plot/series bucket: a number and a unit s/m/h/d, e.g. 1h, 15m, 1d.")
    ] = "1h",
    hourly: Annotated[
        bool, typer.Option("--hourly", help="Also print the per-hour table.")
    ] = False,
    config: ConfigOpt = None,
    kind: KindOpt = None,
) -> None:
    """Fallback share by tier, hard stops, alerts, rates, latency, keys over [--since, --until);
    --plot and --incident."""
    from .._report import build_report, report_window

    now = time.time()
    try:
        start, end = report_window(since, until, now=now)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    table, path = _audit_source(audit, config, kind)
    config_path = table.config_path if table else None
    if incident is not None:
        _print_incident(path, incident, config_path, table, as_json=as_json)
        return
    alerts = table.settings.alerts if table else None
    report_json = build_report(
        path,
        now=now,
        since_s=now - start,
        until_at=end,
        hard_stop_share=alerts.hard_stop_share if alerts else 0.15,
        local_share=alerts.local_share if alerts else 0.35,
        series_bucket_s=_bucket(bucket),
    ).to_json()
    # Audit fields are printed as written; a key that reached one by accident (a model ref
    # "openai/${OPENAI_API_KEY}") is masked here as status, probe and doctor mask theirs.
    built = masked(report_json, config_path=config_path, table=table)
    if plot is not None:
        built["plot"] = str(_plot(built, plot))
    if as_json:
        echo_json(built)
        return
    from ._report_view import print_hours, print_report

    console = _console()
    console.print(_window_line(built), markup=False)
    if hourly:
        print_hours(console, built)
    print_report(console, built)
    console.print(_client_errors_line(built), markup=False)
    if plot is not None:
        typer.echo(f"plot: {built['plot']}")


def _window_line(data: dict[str, Any]) -> str:
    """The window the report covers, as the JSON states it (``since``, ``until``)."""
    end = data["until"] if data.get("until_given") else f"now ({data['until']})"
    note = "" if data.get("until_given") else "; lines stamped after now (clock skew) count too"
    return f"window (UTC): from {data['since'] or 'the start of the log'} until {end}{note}"


def _client_errors_line(data: dict[str, Any]) -> str:
    """Client errors (refused before routing, hung up): no intents, so in no share or table."""
    total = data["totals"]["client_errors"]
    days = ", ".join(
        f"{d['start']} {d['client_errors']}" for d in data["days"] if d["client_errors"]
    )
    per_day = f" ({days})" if days else ""
    return (
        f"Client errors (requests refused before routing, clients that hung up; not intents, "
        f"in no share): {total}{per_day}"
    )


def _audit_source(audit: Path | None, config: Path | None, kind: str | None) -> tuple[Any, Path]:
    """The table (None if not loaded or unusable) and the audit file to read."""
    table, result = (
        load(config, kind, environmental_ok=True)
        if audit is None or config is not None
        else (None, None)
    )
    path = audit or (
        Path(table.settings.audit.path) if table and table.settings.audit.path else None
    )
    if path is None:  # an unusable config still leaves the default audit file to read
        from ..config import resolve_state_dir

        path = resolve_state_dir(os.environ) / "audit.jsonl"
        typer.echo(f"note: {_unusable(result)}; reading {path}, the default audit file", err=True)
    from .._report import audit_files

    # Just after a rotation (or with keep 0) the live file may not exist yet while its rotated
    # copies hold the whole window: those are still read.
    if not audit_files(path):
        raise _fail(f"no audit file at {path} (nor a rotated {path.name}.N); pass --audit FILE")
    return table, path


def _unusable(result: Any) -> str:
    """Why the config gave no table (its first error, masked), for the note that says which
    audit file is read instead."""
    errors = [p for p in result.problems if p.severity == "error"]
    first = f"[{errors[0].rule}] {errors[0].path}" if errors else "no route table"
    text = (
        f"config {result.config_path} is not usable ({len(errors)} error(s), first {first}; "
        "openclaw-failover validate lists them)"
    )
    return str(masked(text, config_path=result.config_path))


def _bucket(text: str) -> int:
    from .._report_buckets import parse_bucket

    try:
        return parse_bucket(text)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _plot(data: dict[str, Any], path: Path) -> Path:
    from .._plot import PlotUnavailable, render_plot

    try:
        plotted = render_plot(data, path)
    except PlotUnavailable as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:  # a directory, a file where a folder should be, a full disk
        where = f": {exc.filename}" if exc.filename else ""
        reason = f"{exc.strerror or type(exc).__name__}{where}"
        if isinstance(exc, FileExistsError):  # mkdir of a folder that is a file
            reason = f"{exc.filename} is a file, not a folder"
        raise _fail(
            f"--plot: cannot write {path} ({reason}); expected a PNG file path in a writable folder"
        ) from None
    if plotted.note:  # on stderr: --json stays one document
        typer.echo(f"note: {plotted.note} ({plotted.path})", err=True)
    return plotted.path


def _print_incident(
    path: Path, request_id: str, config_path: str | None, table: Any, *, as_json: bool
) -> None:
    """The incident template (or its JSON with ``--json``); exit 1 when the id is not found."""
    from .._incident import find_request, incident_json, render_incident
    from .._report import audit_files

    files = audit_files(path)
    own, samples = find_request(files, request_id)
    if as_json:
        data = incident_json(request_id, own, samples, config_path=config_path, audit_files=files)
        echo_json(masked(data, config_path=config_path, table=table))
    else:
        text = render_incident(request_id, own, samples, config_path=config_path)
        typer.echo(masked(text, config_path=config_path, table=table))
    if not own:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- service

service_app = typer.Typer(help="Run the proxy as a user service.", no_args_is_help=True)


@service_app.command("install")
def service_install(
    systemd: Annotated[bool, typer.Option("--systemd", help="A systemd user unit.")] = False,
    launchd: Annotated[bool, typer.Option("--launchd", help="A launchd agent (macOS).")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unit, write nothing.")
    ] = False,
    config: ConfigOpt = None,
    kind: KindOpt = None,
) -> None:
    """Write a unit that waits for the local tier, starts the proxy and restarts it on failure."""
    from .._openclaw_state import openclaw_state_dir
    from .._service import (
        ServiceSpec,
        UnitFile,
        local_ports,
        render_launchd,
        render_systemd,
        unit_path,
        write_unit,
    )
    from ._ops import require

    if systemd == launchd:
        raise _fail("service install: expected exactly one of --systemd or --launchd")
    table = require(config, kind)
    spec = ServiceSpec(
        command=(sys.executable, "-m", "openclaw_failover"),
        config_path=str(Path(table.config_path or "openclaw.json").resolve()),
        state_dir=str(openclaw_state_dir(os.environ)),
        proxy=(table.settings.proxy.host, table.settings.proxy.port),
        wait_for=local_ports(table),
    )
    which = "systemd" if systemd else "launchd"
    text = render_systemd(spec) if systemd else render_launchd(spec)
    path = unit_path(which, home=Path.home(), environ=os.environ)
    if dry_run:
        typer.echo(f"# {path}\n{text}")
        return
    write_unit(UnitFile(path, text))
    typer.echo(f"wrote {path}")
    if systemd:
        typer.echo(
            "enable it: systemctl --user daemon-reload && "
            "systemctl --user enable --now openclaw-failover.service"
        )
    else:
        typer.echo(f"load it: launchctl bootstrap gui/$(id -u) {path}")


@service_app.command("wait-port")
def service_wait_port(
    address: Annotated[str, typer.Argument(help="HOST:PORT to wait for.")],
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 60.0,
) -> None:
    """Wait until HOST:PORT accepts TCP connections (used by the service units)."""
    from .._service import wait_for_port

    if not (math.isfinite(timeout) and timeout >= 0):  # nan and inf would never give up
        raise _fail(f"--timeout: found {timeout:g}; expected a finite number of seconds, 0 or more")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise _fail(f"wait-port: found {address!r}; expected HOST:PORT")
    if not wait_for_port(host.strip("[]"), int(port), timeout_s=timeout):
        raise _fail(f"{address} did not accept connections within {timeout:g} s", code=1)


# --------------------------------------------------------------------------- demo


def demo(
    duration: Annotated[float, typer.Option(help="Seconds of simulated traffic.")] = 60.0,
    out: Annotated[Path | None, typer.Option(help="Folder for the audit log and the plot.")] = None,
    local: Annotated[
        str, typer.Option(help="Local tier: auto (real SmolLM2 if installed) or fake.")
    ] = "auto",
    config: ConfigOpt = None,
    kind: KindOpt = None,
) -> None:
    """Run the real engine and proxy against simulated failing providers on 127.0.0.1.

    --config only lends its alert thresholds; the demo brings its own providers and keys.
    """
    from .._demo import run_demo

    if local not in ("auto", "fake"):
        raise _fail(f"--local: found {local!r}; expected auto or fake")
    if duration <= 0:
        raise _fail(f"--duration: found {duration:g}; expected a positive number of seconds")
    table = load(config, kind)[0] if config is not None else None
    run_demo(
        duration_s=duration,
        out_dir=out,
        console=_console(),
        prefer_real_local=local == "auto",
        alerts=table.settings.alerts if table is not None else None,
    )
