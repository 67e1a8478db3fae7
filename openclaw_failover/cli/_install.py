"""``install`` and ``uninstall``: wire the package into an OpenClaw home, and take it out."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from .._install import InstallError, install, resolve_target, uninstall

ConfigOpt = Annotated[str | None, typer.Option("--config", help="OpenClaw's openclaw.json")]
StateOpt = Annotated[str | None, typer.Option("--state-dir", help="OpenClaw state dir")]
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", help="agent workspace")]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="print the change, write nothing")]


def register(app: typer.Typer) -> None:
    """Add ``install`` and ``uninstall``."""
    app.command("install")(install_cmd)
    app.command("uninstall")(uninstall_cmd)


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
    try:
        target = resolve_target(
            config, state_dir=state_dir, workspace=workspace, environ=os.environ
        )
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
        typer.echo(f"install: {exc}", err=True)
        raise typer.Exit(2) from None
    if dry_run:
        typer.echo(diff or "(no change)")
    for note in plan.notes:
        typer.echo(f"- {note}")
    typer.echo(
        f"{'would install' if dry_run else 'installed'} ({mode} mode) into {target.config_path}"
    )


def uninstall_cmd(
    config: ConfigOpt = None,
    state_dir: StateOpt = None,
    workspace: WorkspaceOpt = None,
    dry_run: DryOpt = False,
) -> None:
    """Take openclaw-failover out of OpenClaw; its settings are kept beside the config."""
    try:
        target = resolve_target(
            config, state_dir=state_dir, workspace=workspace, environ=os.environ
        )
        plan, diff = uninstall(target, dry_run=dry_run)
    except InstallError as exc:
        typer.echo(f"uninstall: {exc}", err=True)
        raise typer.Exit(2) from None
    if dry_run:
        typer.echo(diff or "(no change)")
    for note in plan.notes:
        typer.echo(f"- {note}")
    typer.echo(f"{'would uninstall' if dry_run else 'uninstalled'} from {target.config_path}")
