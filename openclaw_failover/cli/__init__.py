"""The ``openclaw-failover`` command line: one Typer app, each command group in its own module."""

from __future__ import annotations

import os
import sys

import typer

from . import _install, _ops, _serve, _sidecar, _validate

__all__ = ["app", "main"]

#: The exit code after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def build_app() -> typer.Typer:
    """Build the Typer app with every command group registered."""
    cli = typer.Typer(
        name="openclaw-failover",
        help="Keep OpenClaw agents answering when model providers fail.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for module in (_validate, _serve, _ops, _install, _sidecar):
        module.register(cli)
    return cli


app = build_app()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app and turn unexpected errors into one clear line."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        if exc.code == INTERRUPTED:  # typer turns Ctrl-C into a silent exit 130
            typer.echo("openclaw-failover: interrupted (Ctrl-C); the command stopped", err=True)
        raise
    except KeyboardInterrupt:
        typer.echo("openclaw-failover: interrupted (Ctrl-C); the command stopped", err=True)
        sys.exit(INTERRUPTED)
    except Exception as exc:  # the last seam: never a stack trace to the operator
        typer.echo(
            f"openclaw-failover: error: {_scrubbed(f'{type(exc).__name__}: {exc}')}", err=True
        )
        sys.exit(1)


def _scrubbed(text: str) -> str:
    """``text`` with every secret this process can know of, key-shaped tokens and URL
    credentials masked (an unexpected error may quote a key, a token or a redis URL)."""
    from ..config._redact import known_secrets, scrub_text

    try:
        secrets: frozenset[str] = known_secrets(os.environ)
    except Exception:  # masking must not fail the message: the shapes are still masked
        secrets = frozenset()
    return scrub_text(text, secrets)
