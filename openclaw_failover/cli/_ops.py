"""Operations commands: status, cooldowns clear, probe, doctor, report, service, demo.

Each command takes ``--config`` and ``--kind`` (OpenClaw's file by default), prints rich
tables (or ``--json``), and turns every expected failure into one clear line and an exit code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console

from .._model import RouteTable
from .._ports import StateStore, Transport

T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: OpenClaw's).")
]
KindOpt = Annotated[
    str | None, typer.Option("--kind", help="openclaw | standalone (default: detected).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"openclaw-failover: {message}", err=True)
    return typer.Exit(code)


def masked(data: T, *, config_path: str | None, table: RouteTable | None = None) -> T:
    """``data`` with every secret this process knows of, key-shaped text and URL credentials
    masked: the one path for status, doctor, probe and clear (validate uses its helpers). A
    key can reach any field by accident ("openai/${OPENAI_API_KEY}" makes it a model ref)."""
    from ..config._redact import known_secrets, scrub_tree

    secrets = known_secrets(os.environ, config_path=config_path, table=table)
    return scrub_tree(data, secrets)  # type: ignore[no-any-return]


def load(
    config: Path | None, kind: str | None, *, environmental_ok: bool = False
) -> tuple[RouteTable | None, Any]:
    """Load the route table; returns (table or None, the LoadResult). ``environmental_ok``
    (status, report, cooldowns clear: they serve nothing): a config whose only errors are keys
    not set in this shell still gives its table (the service's environment may hold them)."""
    from ..config import load_route_table

    if kind not in (None, "openclaw", "standalone"):
        raise _fail(f"--kind: found {kind!r}; expected openclaw or standalone")
    try:
        result = load_route_table(
            str(config) if config else None,
            kind=kind,
            environ=os.environ,
            environmental_ok=environmental_ok,
        )
    except (OSError, ValueError) as exc:
        reason = masked(f"{type(exc).__name__}: {exc}", config_path=None)
        raise _fail(f"cannot read the config: {reason}") from None
    return result.table, result


def require(config: Path | None, kind: str | None, *, environmental_ok: bool = False) -> RouteTable:
    """The route table, or every config error printed and exit 2."""
    table, result = load(config, kind, environmental_ok=environmental_ok)
    if table is None:
        messages = [f"[{p.rule}] {p.message}" for p in result.problems if p.severity == "error"]
        for message in masked(messages, config_path=result.config_path):
            typer.echo(message, err=True)
        raise _fail(f"invalid configuration in {result.config_path}")
    return table


@asynccontextmanager
async def parts(
    table: RouteTable,
) -> AsyncIterator[tuple[StateStore, dict[str, Transport], httpx.AsyncClient]]:
    """The store, transports and HTTP client a command needs, closed afterwards."""
    from ..providers import build_transports
    from ..stores import build_store

    store = build_store(table.settings.state, fingerprint_salt=table.fingerprint_salt)
    async with httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(15.0)) as client:
        try:
            yield store, build_transports(client), client
        finally:
            await store.aclose()


def run(coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one command's coroutine."""
    return asyncio.run(coro())


@contextmanager
def store_state_told() -> Iterator[None]:
    """Hold back the stores' warnings (degraded to local state, damaged journal records) while
    a command that reports the store's state in its own output runs (status, doctor): each is
    said once there, masked and with its fix, not again on stderr. Errors still pass."""
    logger = logging.getLogger("openclaw_failover.stores")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def echo_json(data: Any) -> None:
    """Print a JSON document."""
    typer.echo(json.dumps(data, indent=2, default=str))


# --------------------------------------------------------------------------- status


def status(config: ConfigOpt = None, kind: KindOpt = None, as_json: JsonOpt = False) -> None:
    """Routes, each candidate and key with its state, the local tier, OpenClaw's cooldowns."""
    from .._openclaw_state import read_openclaw_state
    from .._status import gather_status, with_keys_elsewhere
    from .._status_proxy import proxy_view
    from ._ops_view import print_status

    table, result = load(config, kind, environmental_ok=True)
    if table is None:
        _status_without_table(result, as_json=as_json)
        raise typer.Exit(2)

    async def go() -> dict[str, Any]:
        async with parts(table) as (store, transports, client):
            report = await gather_status(
                table,
                store=store,
                transports=transports,
                now=time.time(),
                openclaw=read_openclaw_state(os.environ),
                proxy=await proxy_view(table.settings.proxy, client),
            )
            # every key not set in this shell is "unknown", not "no key": the service's
            # environment may hold it (also when the provider has other keys here)
            report = with_keys_elsewhere(report, table)
            return report.to_json()

    with store_state_told():
        gathered = run(go)
    data = masked(gathered, config_path=result.config_path, table=table)
    echo_json(data) if as_json else print_status(_console(), data)


def _status_without_table(result: Any, *, as_json: bool) -> None:
    """The config is unusable: say why, and still show OpenClaw's own cooldowns (read-only)."""
    from .._openclaw_state import read_openclaw_state
    from .._status import openclaw_json
    from ._ops_view import print_openclaw

    now = time.time()
    errors = [p for p in result.problems if p.severity == "error"]
    openclaw = masked(
        openclaw_json(read_openclaw_state(os.environ), now), config_path=result.config_path
    )
    ours = run(lambda: _default_file_state(now))
    problems = masked(
        [{"rule": p.rule, "path": p.path, "message": p.message} for p in errors],
        config_path=result.config_path,
    )
    if as_json:
        echo_json(
            {
                "config_path": result.config_path,
                "problems": problems,
                "state": ours,
                "openclaw": openclaw,
            }
        )
        return
    for problem in problems:
        typer.echo(f"[{problem['rule']}] {problem['message']}", err=True)
    typer.echo(f"openclaw-failover: invalid configuration in {result.config_path}", err=True)
    console = _console()
    for key, item in ours.items():
        console.print(f"our state: {key} {item['state']} ({item['reason']})", markup=False)
    print_openclaw(console, openclaw, now)


async def _default_file_state(now: float) -> dict[str, Any]:
    """Cooling keys in the default file store, when one exists (read without a lock)."""
    from .._status import health_state
    from ..config import resolve_state_dir
    from ..stores.file import FileStateStore

    directory = resolve_state_dir(os.environ)
    if not (directory / "state.journal").is_file():
        return {}
    store = FileStateStore(directory, on_unavailable="closed")  # unreadable: say so, no memory
    try:
        items = await store.items()
    finally:
        await store.aclose()
    return {
        k: {"state": health_state(h, now), "until": h.cooldown_until, "reason": h.cooldown_reason}
        for k, h in sorted(items.items())
        if health_state(h, now) != "healthy"
    }


def _audit_probes(table: RouteTable, results: Any) -> None:
    from .._probe import probe_records

    audit = _audit_sink(table)
    if audit is None:
        return
    for record in probe_records(results, table, now=time.time()):
        audit.emit(record)
    run(audit.aclose)


def _audit_sink(table: RouteTable) -> Any:
    if not table.settings.audit.path:
        return None
    from .._audit import JsonlAuditSink

    audit = table.settings.audit
    return JsonlAuditSink(audit.path, max_bytes=audit.max_bytes, keep=audit.keep)


# --------------------------------------------------------------------------- probe


def probe(
    provider: Annotated[str, typer.Argument(help="A provider id, or all.")] = "all",
    timeout: Annotated[float, typer.Option(help="Seconds per probe.")] = 15.0,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    kind: KindOpt = None,
) -> None:
    """A tiny real model call per candidate and key; exit 1 if a default-route candidate fails."""
    from .._probe import failing_default_candidates, probe_table
    from ._ops_view import print_probe

    table = require(config, kind)
    if provider != "all" and provider not in table.providers:
        raise _fail(
            f"probe: found provider {provider!r}; "
            f"expected all or one of {', '.join(sorted(table.providers))}"
        )

    async def go() -> Any:
        async with parts(table) as (_, transports, _client):
            return await probe_table(table, transports=transports, only=provider, timeout_s=timeout)

    results = run(go)
    _audit_probes(table, results)
    rows = masked([r.to_json() for r in results], config_path=table.config_path, table=table)
    echo_json(rows) if as_json else print_probe(_console(), rows)
    failing = failing_default_candidates(results)
    if failing:
        typer.echo(f"default route candidates failing: {', '.join(failing)}", err=True)
        raise typer.Exit(1)


# --------------------------------------------------------------------------- doctor


def doctor(config: ConfigOpt = None, kind: KindOpt = None, as_json: JsonOpt = False) -> None:
    """Check config, keys, state, local tier, proxy, OpenClaw wiring and audit in one pass;
    exit 0 when all is ok, 1 on a warning, 2 on an error."""
    from .._doctor import check_config, run_checks, worst_exit
    from .._openclaw_state import openclaw_state_dir
    from ._ops_view import print_doctor

    table, result = load(config, kind)
    findings = check_config(result.problems, result.config_path, result.kind)
    if table is not None:
        raw = _raw_config(result.config_path)
        ws = (
            ((raw.get("agents") or {}).get("defaults") or {}).get("workspace")
            if isinstance(raw, dict)
            else None
        )
        workspace = (
            Path(ws) if isinstance(ws, str) else openclaw_state_dir(os.environ) / "workspace"
        )

        async def go() -> Any:
            async with parts(table) as (store, transports, client):
                return await run_checks(
                    table,
                    store=store,
                    transports=transports,
                    client=client,
                    raw=raw,
                    workspace=workspace,
                    now=time.time(),
                )

        with store_state_told():
            findings += run(go)
    rows = masked([f.to_json() for f in findings], config_path=result.config_path, table=table)
    echo_json(rows) if as_json else print_doctor(_console(), rows)
    raise typer.Exit(worst_exit(findings))


def _raw_config(path: str) -> dict[str, Any]:
    import json5

    try:
        data = json5.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    from ._ops_cooldowns import cooldowns_app
    from ._ops_more import demo, report, service_app

    app.command("status")(status)
    app.add_typer(cooldowns_app, name="cooldowns")
    app.command("probe")(probe)
    app.command("doctor")(doctor)
    app.command("report")(report)
    app.add_typer(service_app, name="service")
    app.command("demo")(demo)
