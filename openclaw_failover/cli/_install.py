"""``install`` and ``uninstall``: wire the package into an OpenClaw home, and take it out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .._install import install, resolve_target, uninstall
from .._install_files import InstallError, has_comments
from .._install_shape import port_problem
from ..config._redact import known_secrets, scrub_text
from ._validate import COMMENTS_NOTE

ConfigOpt = Annotated[str | None, typer.Option("--config", help="OpenClaw's openclaw.json")]
StateOpt = Annotated[str | None, typer.Option("--state-dir", help="OpenClaw state dir")]
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", help="agent workspace")]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="print the change, write nothing")]


def register(app: typer.Typer) -> None:
    """Add ``install`` and ``uninstall``."""
    app.command("install")(install_cmd)
    app.command("uninstall")(uninstall_cmd)


def _say(text: str, *, config_path: Path | None, err: bool = False) -> None:
    """Print ``text`` with every secret this process knows of masked (as ``migrate`` does)."""
    secrets = known_secrets(os.environ, config_path=config_path)
    typer.echo(scrub_text(text, secrets), err=err)


def install_cmd(
    config: ConfigOpt = None,
    state_dir: StateOpt = None,
    workspace: WorkspaceOpt = None,
    mode: Annotated[str, typer.Option("--mode", help="provider (default) or plugin")] = "provider",
    agents: Annotated[
        str, typer.Option("--agents", help="route agents with their own chains: all or ID,ID")
    ] = "",
    port: Annotated[int | None, typer.Option("--port", help="the proxy's loopback port")] = None,
    dry_run: DryOpt = False,
    no_openclaw_cli: Annotated[
        bool, typer.Option("--no-openclaw-cli", help="edit the config instead of `openclaw`")
    ] = False,
) -> None:
    """Wire openclaw-failover into OpenClaw (a backup of the config is kept)."""
    if mode not in ("provider", "plugin"):
        typer.echo(f"install: --mode: found {mode!r}; expected 'provider' or 'plugin'", err=True)
        raise typer.Exit(2)
    bad_port = port_problem(port)
    if bad_port is not None:
        typer.echo(f"install: {bad_port.message}", err=True)
        raise typer.Exit(2)
    where: Path | None = Path(config) if config else None
    try:
        target = resolve_target(
            config, state_dir=state_dir, workspace=workspace, environ=os.environ
        )
        where = target.config_path
        if config and not target.config_path.exists():  # a mistyped path: never a new file
            raise InstallError(
                f"--config: {target.config_path} does not exist; expected OpenClaw's "
                "openclaw.json (check the path; to start a new config, write {} to it first)"
            )
        commented = has_comments(target.config_path)
        chosen = tuple(a.strip() for a in agents.split(",") if a.strip())
        plan, diff = install(
            target,
            mode="plugin" if mode == "plugin" else "provider",
            agents=chosen,
            dry_run=dry_run,
            use_openclaw_cli=not no_openclaw_cli,
            port=port,
        )
    except InstallError as exc:
        _say(f"install: {exc}", config_path=where, err=True)
        raise typer.Exit(2) from None
    lines = [diff or "(no change)"] if dry_run else []
    lines += [f"- {note}" for note in plan.notes]
    if commented:
        lines.append(COMMENTS_NOTE)
    lines.append(
        f"{'would install' if dry_run else 'installed'} ({mode} mode) into {target.config_path}"
    )
    _say("\n".join(lines), config_path=target.config_path)


def uninstall_cmd(
    config: ConfigOpt = None,
    state_dir: StateOpt = None,
    workspace: WorkspaceOpt = None,
    dry_run: DryOpt = False,
) -> None:
    """Take openclaw-failover out of OpenClaw; its settings are kept beside the config."""
    where: Path | None = Path(config) if config else None
    try:
        target = resolve_target(
            config, state_dir=state_dir, workspace=workspace, environ=os.environ
        )
        where = target.config_path
        commented = has_comments(target.config_path)
        plan, diff = uninstall(target, dry_run=dry_run)
    except InstallError as exc:
        _say(f"uninstall: {exc}", config_path=where, err=True)
        raise typer.Exit(2) from None
    removed = plan.bookkeeping.get("removed", True)
    lines = [diff or "(no change)"] if dry_run else []
    lines += [f"- {note}" for note in plan.notes]
    if commented and removed:
        lines.append(COMMENTS_NOTE)
    if not removed:
        lines.append(f"nothing to uninstall: openclaw-failover is not installed in {where}")
    else:
        verb = "would uninstall" if dry_run else "uninstalled"
        lines.append(f"{verb} from {target.config_path}")
    _say("\n".join(lines), config_path=target.config_path)
