"""``validate`` and ``migrate``: check a config with every finding at once; move refused keys."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from .._errors import Problem
from .._install_files import InstallError, back_up, write_atomic
from .._model import RouteTable
from ..config import LoadResult, discover_config_path, load_route_table
from ..config._load import KINDS
from ..config._migrate import Migration, plan_migration
from ..config._redact import known_secrets, redact, scrub_text, scrub_tree, secret_values
from ..config._source import read_document
from ..config._view import detect_kind

EXIT_INVALID = 2
COMMENTS_NOTE = (
    "note: comments and formatting are not kept when writing "
    "(OpenClaw's own config writers drop them too)"
)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: the one OpenClaw loads).")
]
KindOpt = Annotated[
    str | None, typer.Option("--kind", help="openclaw | standalone (default: detected).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _problem_dict(p: Problem) -> dict[str, str]:
    return {
        "rule": p.rule,
        "severity": p.severity,
        "path": p.path,
        "found": p.found,
        "expected": p.expected,
        "fix": p.fix,
        "message": p.message,
    }


def _ordered(problems: tuple[Problem, ...]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.severity != "error")


def _scrub(text: str, *, config_path: str | Path | None, table: RouteTable | None = None) -> str:
    """Last line of defence: no secret this process knows of leaves through a message.

    Not only the process env: a key from ``.env`` or ``env.vars`` substituted into a chain
    entry shows up in a finding's ``found``, so every known source is masked, and anything
    key-shaped too.
    """
    secrets = known_secrets(os.environ, config_path=config_path, table=table)
    return scrub_text(text, secrets)


def validation_report(result: LoadResult) -> dict[str, Any]:
    """The JSON form of a validation: verdict, counts, version and every problem."""
    return {
        "valid": result.table is not None,
        "config_path": result.config_path,
        "kind": result.kind,
        "route_table_version": result.table.version if result.table else None,
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "problems": [_problem_dict(p) for p in _ordered(result.problems)],
    }


def validation_text(result: LoadResult) -> str:
    """The human form: one block per problem (rule, path, found, expected, fix), then a verdict."""
    lines = [f"config: {result.config_path} ({result.kind})"]
    for p in _ordered(result.problems):
        lines += [
            f"{p.severity} [{p.rule}] {p.path}",
            f"    found:    {p.found}",
            f"    expected: {p.expected}",
        ]
        if p.fix:
            lines.append(f"    fix:      {p.fix}")
    verdict = "valid" if result.table else "invalid"
    version = f"; route table version {result.table.version}" if result.table else ""
    lines.append(
        f"{verdict}: {len(result.errors)} error(s), {len(result.warnings)} warning(s){version}"
    )
    return "\n".join(lines)


def validate(config: ConfigOpt = None, kind: KindOpt = None, as_json: JsonOpt = False) -> None:
    """Check a config: every problem at once; exit 0 when valid (warnings shown), 2 on errors."""
    if kind is not None and kind not in KINDS:
        # Checked here, not by catching ValueError around the load: any other ValueError
        # from loading would be reported as a --kind problem (and its text unmasked).
        typer.echo(
            f"openclaw-failover validate: --kind: kind must be one of {', '.join(KINDS)}; "
            f"found {kind!r}",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID)
    result = load_route_table(config, kind=kind)
    if as_json:  # masked before encoding: a secret with a quote or a backslash, escaped in
        # JSON text, would no longer be found in it
        secrets = known_secrets(os.environ, config_path=result.config_path, table=result.table)
        typer.echo(json.dumps(scrub_tree(validation_report(result), secrets), indent=2))
    else:
        typer.echo(
            _scrub(validation_text(result), config_path=result.config_path, table=result.table)
        )
    if result.table is None:
        raise typer.Exit(EXIT_INVALID)


def _shown(doc: dict[str, Any]) -> list[str]:
    masked = redact(doc, secrets=secret_values(os.environ))
    return (json.dumps(masked, indent=2, ensure_ascii=False) + "\n").splitlines(keepends=True)


def migration_diff(path: Path, old: dict[str, Any], plan: Migration) -> str:
    """A unified diff of the document before and after, with secrets masked."""
    diff = difflib.unified_diff(
        _shown(old), _shown(plan.document), fromfile=f"{path}", tofile=f"{path} (migrated)"
    )
    return "".join(diff)


def write_migrated(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` atomically, keeping the mode; returns the backup of the old file."""
    backup = path.with_name(path.name + ".failover-migrate-backup")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.failover-migrate-backup.{n}")
        n += 1
    back_up(path, backup)  # atomic and private; a symlinked config is written through
    write_atomic(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode())
    return backup


def _read_for_migration(path: Path) -> dict[str, Any]:
    doc, problems = read_document(path, environ=os.environ)
    if doc is None:
        for p in problems:
            message = _scrub(p.message, config_path=None)
            typer.echo(f"openclaw-failover migrate: [{p.rule}] {message}", err=True)
        raise typer.Exit(EXIT_INVALID)
    if "$include" in path.read_text(encoding="utf-8"):
        typer.echo(
            f"openclaw-failover migrate: {path} uses $include; migrate edits one file only. "
            "Inline the included sections, then migrate again",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID)
    return doc


def migrate(
    config: ConfigOpt = None,
    kind: KindOpt = None,
    write: Annotated[bool, typer.Option("--write", help="Write it (with a backup).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move root providers and fallbackN out of OpenClaw's own file into the plugin block."""
    path = Path(config).expanduser() if config else discover_config_path(os.environ)
    doc = _read_for_migration(path)
    found_kind = kind or detect_kind(path, doc, os.environ)
    plan = plan_migration(doc) if found_kind == "openclaw" else Migration(doc, ())
    diff = migration_diff(path, doc, plan) if plan.changed else ""
    try:
        backup = write_migrated(path, plan.document) if write and plan.changed else None
    except InstallError as exc:
        typer.echo(f"openclaw-failover migrate: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    if as_json:
        report = {
            "config_path": str(path),
            "kind": found_kind,
            "changed": plan.changed,
            "moves": list(plan.moves),
            "diff": diff,
            "written": bool(backup),
            "backup": str(backup) if backup else None,
            "note": COMMENTS_NOTE,
        }
        typer.echo(_scrub(json.dumps(report, indent=2), config_path=path))
        return
    if not plan.changed:
        why = "" if found_kind == "openclaw" else " (not OpenClaw's own file)"
        typer.echo(f"nothing to migrate in {path}{why}")
        return
    lines = [*(f"move: {m}" for m in plan.moves), diff.rstrip("\n"), COMMENTS_NOTE]
    lines.append(f"wrote {path} (backup: {backup})" if backup else "dry run: add --write")
    typer.echo(_scrub("\n".join(lines), config_path=path))


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``migrate`` to ``app``."""
    app.command("validate")(validate)
    app.command("migrate")(migrate)
