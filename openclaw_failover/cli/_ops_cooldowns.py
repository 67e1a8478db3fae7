"""``cooldowns clear``: clear our stale cooldowns, refusing a selection that names nothing
and a store it cannot reach (a clear must never report a success it did not have)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from .._model import RouteTable
from .._ports import StateStore
from ._ops import ConfigOpt, KindOpt, _audit_sink, _fail, masked, parts, require, run

__all__ = ["cooldowns_app"]

cooldowns_app = typer.Typer(
    help="Clear this proxy's cooldowns (status shows them).", no_args_is_help=True
)


@cooldowns_app.command("clear")
def cooldowns_clear(
    provider: Annotated[
        str | None, typer.Option(help="Clear every key and model of this provider.")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="Clear one key (profile id).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Clear every cooldown.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    config: ConfigOpt = None,
    kind: KindOpt = None,
) -> None:
    """Clear our stale cooldowns atomically (a running proxy sees it on its next request)."""
    from .._cooldowns import clear_cooldowns
    from .._errors import StateStoreError
    from .._openclaw_state import clear_instructions, read_openclaw_state

    table = _clear_target(config, kind, provider=provider, profile=profile, everything=everything)
    what = "every cooldown" if everything else f"cooldowns of {provider or profile}"
    if not yes and not _confirmed(f"Clear {what}?"):
        raise _fail("cooldowns clear: nothing cleared: the answer was no", code=1)

    async def go() -> Any:
        audit = _audit_sink(table)
        try:
            async with parts(table) as (store, _, _client):
                await _require_reachable(table, store)
                try:
                    return await clear_cooldowns(
                        table,
                        store,
                        now=time.time(),
                        audit=audit,
                        provider=provider,
                        profile=profile,
                        everything=everything,
                    )
                except StateStoreError as exc:  # mid-way: say what landed, never a success
                    message = (
                        f"cooldowns clear: {exc}; fix it (openclaw-failover doctor), "
                        "then clear again"
                    )
                    raise _fail(
                        masked(message, config_path=table.config_path, table=table), code=1
                    ) from None
        finally:
            if audit is not None:
                await audit.aclose()

    result = run(go)
    for key, was in result.cleared.items():
        typer.echo(f"cleared {key} (was {was})")
    keys = "state key" if result.selected == 1 else "state keys"
    typer.echo(f"{len(result.cleared)} cleared of {result.selected} selected {keys}")
    note = _unselected_note(table, provider=provider, profile=profile)
    if note:
        typer.echo(masked(note, config_path=table.config_path, table=table), err=True)
    for line in clear_instructions(
        read_openclaw_state(os.environ), now=time.time(), provider=provider
    ):
        typer.echo(line)


def _confirmed(question: str) -> bool:
    """The operator's answer; no answer (stdin closed or not a terminal, Ctrl-C at the
    prompt) exits 1 saying nothing was cleared and how to clear without asking."""
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:  # typer's own (its vendored click), not click's
        typer.echo(err=True)  # end the prompt's line
        raise _fail(
            "cooldowns clear: nothing cleared: no answer to the question (stdin closed or "
            "not a terminal); pass --yes to clear without asking",
            code=1,
        ) from None


def _clear_target(
    config: Path | None,
    kind: str | None,
    *,
    provider: str | None,
    profile: str | None,
    everything: bool,
) -> RouteTable:
    """The table to clear in, after checking the selection (and warning about memory state)."""
    if not (provider or profile or everything):
        raise _fail("cooldowns clear: found no selection; expected --provider, --profile or --all")
    table = require(config, kind, environmental_ok=True)
    if provider and provider not in table.providers:
        known = ", ".join(sorted(table.providers))
        raise _fail(f"--provider: found {provider!r}; expected one of {known}")
    if profile:
        _check_profile(table, profile, provider=provider)
    if not everything:
        _check_keys_here(table, provider=provider, profile=profile)
    if table.settings.state.backend == "memory":
        typer.echo(
            "note: state.backend is memory, so a running proxy keeps its own state that "
            "this command cannot reach; use file or redis to clear it from here",
            err=True,
        )
    return table


def _check_profile(table: RouteTable, profile: str, *, provider: str | None) -> None:
    """Exit 2 unless ``profile`` is a profile id (of ``provider``, if given) of the config: a
    mistyped id would select nothing and report "0 cleared" as a success."""
    owners = [table.providers[provider]] if provider else list(table.providers.values())
    known = sorted({p.id for owner in owners for p in owner.profiles})
    if profile not in known:
        where = f" of provider {provider!r}" if provider else ""
        expected = f"one of {', '.join(known)}{where}" if known else f"a profile id{where}"
        raise _fail(masked(f"--profile: found {profile!r}; expected {expected}", config_path=None))


def _check_keys_here(table: RouteTable, *, provider: str | None, profile: str | None) -> None:
    """Exit 2 when the selection's key state keys cannot be computed here: they are salted
    fingerprints of key values, and this shell lacks the variable (the service may have it).
    Clearing the rest would report a success that left the keys' cooldowns in place."""
    from .._status import cloud_providers, keys_not_in_shell, unset_here

    cloud = cloud_providers(table)
    names: tuple[str, ...] = ()
    option, value = "--provider", provider
    if provider in cloud:
        names = keys_not_in_shell(table.providers[provider])
    if profile and not names:
        option, value = "--profile", profile
        owned = [p for owner in table.providers.values() for p in owner.profiles]
        names = next((unset_here(p) for p in owned if p.id == profile), ())
    if names:
        message = (
            f"{option}: the key state of {value!r} cannot be found without its key: "
            f"{', '.join(names)} not set in this shell (the service may have it); export it "
            "here, or use --all"
        )
        raise _fail(masked(message, config_path=table.config_path, table=table))


def _unselected_note(table: RouteTable, *, provider: str | None, profile: str | None) -> str:
    """A note naming the keys of ``--provider`` whose state was not selected because their
    variable is not set in this shell (the provider's other keys were cleared); "" if none.
    (A provider with no key here at all, or such a --profile, was refused before.)"""
    from .._status import unset_here

    if not provider or profile:
        return ""
    missing = {p.id: unset_here(p) for p in table.providers[provider].profiles if unset_here(p)}
    if not missing:
        return ""
    names = ", ".join(dict.fromkeys(n for found in missing.values() for n in found))
    return (
        f"note: {names} not set in this shell, so the state of {', '.join(missing)} was not "
        "selected (the service may have those keys); export them here and clear again, or "
        "use --all"
    )


async def _require_reachable(table: RouteTable, store: StateStore) -> None:
    """Exit 1 when the store cannot be reached (Redis down): a clear must not claim success."""
    from .._doctor import degraded_reason, describe_store
    from .._errors import StateStoreError

    try:
        await store.items()
        reason = degraded_reason(store)
    except (StateStoreError, OSError) as exc:  # onUnavailable "closed", or a broken folder
        reason = f"{type(exc).__name__}: {exc}"
    if reason:
        message = (
            f"cooldowns clear: nothing cleared: the state store {describe_store(table)} "
            f"is unreachable ({reason}); fix it (openclaw-failover doctor), then clear again"
        )
        raise _fail(masked(message, config_path=table.config_path, table=table), code=1)
