"""``openclaw-failover serve``: the failover proxy on its own HTTP/1.1 server (uvloop)."""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from .._model import RouteTable
from ..config._redact import known_secrets, scrub_text
from ..proxy._bind import bind_refusal

#: How long an idle keep-alive connection stays open (uvicorn's default was 5 s). It must
#: outlast every client's own idle expiry (undici/Node 4-5 s, httpx and the openai SDK 5 s,
#: aiohttp 15 s, Go 90 s), so that the client always retires an idle connection first: a
#: server that closes one just as the client reuses it drops that request unseen (the client
#: gets "Server disconnected without sending a response", and nobody retries a POST).
KEEP_ALIVE_S = 120


def _load(config: Path | None, kind: str | None) -> RouteTable:
    """Load the table, printing warnings; exit 2 naming every error."""
    from ..config import load_route_table

    try:
        result = load_route_table(str(config) if config else None, kind=kind)
    except ValueError as exc:  # a bad --kind
        typer.echo(f"openclaw-failover serve: --kind: {exc}", err=True)
        raise typer.Exit(2) from None
    secrets = known_secrets(os.environ, config_path=result.config_path, table=result.table)
    for problem in result.warnings:
        message = scrub_text(problem.message, secrets)
        typer.echo(f"openclaw-failover serve: warning: [{problem.rule}] {message}", err=True)
    if result.table is None:
        typer.echo(
            f"openclaw-failover serve: invalid configuration in {result.config_path}:", err=True
        )
        for problem in result.errors:  # a key substituted into a chain entry shows in `found`
            typer.echo(f"  [{problem.rule}] {scrub_text(problem.message, secrets)}", err=True)
        raise typer.Exit(2)
    return result.table


def serve(
    config: Annotated[Path | None, typer.Option(help="Config file (default: OpenClaw's).")] = None,
    kind: Annotated[
        str | None, typer.Option(help="openclaw | standalone (default: detected).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default: proxy.host).")] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port (default: proxy.port; 0 = any free port)."),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback bind (needs a token).")
    ] = False,
) -> None:
    """Run the failover proxy: OpenAI-compatible, in front of the engine."""
    table = _load(config, kind)
    settings = table.settings.proxy
    bind_host = host or settings.host
    refusal = bind_refusal(
        bind_host, allow_remote=allow_remote, has_token=settings.token is not None
    )
    if refusal is not None:
        typer.echo(f"openclaw-failover serve: refused: {refusal}", err=True)
        raise typer.Exit(2)
    run_server(table, host=bind_host, port=settings.port if port is None else port)


def run_server(table: RouteTable, *, host: str, port: int) -> None:
    """Serve ``table`` until SIGINT/SIGTERM (SIGHUP reloads the config)."""
    from ..proxy import create_app
    from ..proxy._server import StartupFailed, run

    _log_to_stderr()
    try:
        # The proxy's own HTTP/1.1 server (uvloop, httptools, one process). It rewrites
        # nothing from X-Forwarded-*: nothing here reads the client address, and a local
        # caller could otherwise claim any address or scheme. Its audit lines name this
        # process (host and pid), as gateways may share an audit file or a Redis store.
        app = create_app(table, instance=f"{socket.gethostname()}:{os.getpid()}")
        run(app, host=host, port=port, keep_alive_s=KEEP_ALIVE_S)
    except StartupFailed:  # already logged with its reason
        raise typer.Exit(3) from None
    except OSError as exc:
        typer.echo(
            f"openclaw-failover serve: cannot listen on {host}:{port}: {exc}; {_bind_fix(exc)}",
            err=True,
        )
        raise typer.Exit(1) from None


def _bind_fix(exc: OSError) -> str:
    """What to do when the listening socket cannot be had."""
    if exc.errno == errno.EADDRINUSE:
        return (
            "another process holds that port (a proxy already running? openclaw-failover "
            "status asks it); stop it, or pass --port or set proxy.port to a free port"
        )
    return (
        "pass --host and --port (or set proxy.host and proxy.port) to an address this machine has"
    )


def _log_to_stderr() -> None:
    """Print the proxy's log on stderr: its INFO lines (the "running on" one, reloads) and,
    as before, its warnings and errors as bare messages (what Python's last-resort handler
    printed under uvicorn). Other loggers keep the last-resort handler."""
    logger = logging.getLogger("openclaw_failover.proxy")
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)
