"""``openclaw-failover sidecar``: the process the JS bridge starts to host the Python plugin."""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from .._sidecar import Sidecar

ConfigOpt = Annotated[str | None, typer.Option("--config", help="openclaw.json or failover file")]
KindOpt = Annotated[str | None, typer.Option("--kind", help="openclaw or standalone")]
PolicyOpt = Annotated[bool, typer.Option("--policy", help="print the tool policy JSON and exit")]


def register(app: typer.Typer) -> None:
    """Add ``sidecar``."""
    app.command("sidecar")(sidecar_cmd)


async def _serve(sidecar: Sidecar) -> None:
    from .._sidecar import run_stdio

    try:
        await run_stdio(sidecar)
    finally:
        await sidecar.plugin.store.aclose()
        await sidecar.plugin.audit.aclose()


def sidecar_cmd(config: ConfigOpt = None, kind: KindOpt = None, policy: PolicyOpt = False) -> None:
    """Host the Python plugin for OpenClaw's JS bridge (JSON lines on stdin/stdout)."""
    # Imported here: the plugin pulls in the engine's core, which other commands do not need.
    from .._sidecar import Sidecar, build_plugin, write_policy_file

    sidecar = Sidecar.create(build_plugin(config, kind=kind, environ=os.environ))
    if policy:
        typer.echo(json.dumps(sidecar.hello()["policy"], indent=2))
        return
    write_policy_file(sidecar)
    asyncio.run(_serve(sidecar))
