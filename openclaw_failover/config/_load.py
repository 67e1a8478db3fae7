"""``load_route_table``: read, substitute, locate, normalise, check every rule, and version."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from .._errors import ConfigError, Problem
from .._model import RouteTable, Secret, Settings
from ._env import build_layers, env_vars_of, read_dotenv, substitute_tree
from ._finite import check_finite
from ._jsonpath import join
from ._normalise import Normalised, normalise
from ._paths import (
    discover_config_path,
    load_fingerprint_salt,
    openclaw_state_root,
    resolve_state_dir,
)
from ._redact import loaded_secrets, mask_url, scrub_text
from ._rules import check_rules
from ._schema import check_schema
from ._settings import build_settings
from ._source import read_document
from ._version import route_table_version
from ._view import OPENCLAW_NAMES, Kind, build_view, detect_kind

KINDS: tuple[Kind, ...] = ("openclaw", "standalone")

#: Findings that depend on the environment, not on the document: a key may be exported later
#: (install), or be set in the service's environment but not in this shell (status, report,
#: cooldowns clear).
ENVIRONMENTAL_RULES = frozenset({"auth.no-usable-key"})


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What loading found: the table (None on any error), every problem, the file and its kind."""

    table: RouteTable | None
    problems: tuple[Problem, ...]
    config_path: str
    kind: str

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity ``error``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems of severity ``warning``."""
        return tuple(p for p in self.problems if p.severity != "error")


def _salt(directory: str, problems: list[Problem], *, where: str) -> bytes:
    try:
        return load_fingerprint_salt(directory)
    except OSError as exc:
        setting = join(where, "state", "directory")
        problems.append(
            Problem(
                "state.salt-unavailable",
                setting,
                f"{directory} not writable ({exc.strerror})",
                "a writable state folder",
                f"set OPENCLAW_STATE_DIR or {setting} to a writable folder",
                severity="warning",
            )
        )
        return b""


def _without_password(text: str, url: Secret) -> str:
    """``text`` (an error about ``url``) with the URL's password and user info masked."""
    try:
        password = urlsplit(url.reveal()).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "***")
    return mask_url(text)


def _shared_salt(settings: Settings, local: bytes, problems: list[Problem], *, where: str) -> bytes:
    """With ``backend: "redis"`` every gateway must salt alike: the first salt stored wins."""
    state = settings.state
    if state.backend != "redis" or state.url is None or not local:
        return local
    try:
        from ..stores.redis import shared_fingerprint_salt

        return shared_fingerprint_salt(state.url.reveal(), namespace=state.namespace, local=local)
    except ValueError as exc:  # from_url refuses it (bad port, scheme, IPv6 brackets)
        problems.append(
            Problem(
                "state.redis-url",
                join(where, "state", "url"),
                f"a url the redis client cannot parse ({_without_password(str(exc), state.url)})",
                "a Redis URL such as redis://:PASSWORD@127.0.0.1:6379/0",
                "fix the url (a password with / ? # @ or : must be percent-encoded)",
            )
        )
        return local
    except ImportError:
        problems.append(
            Problem(
                "state.redis-missing",
                join(where, "state", "backend"),
                'backend "redis" without the redis client installed',
                "the redis extra",
                "pip install 'openclaw-failover[redis]'",
                severity="warning",
            )
        )
        return local


def _without_shadowed(problems: list[Problem]) -> list[Problem]:
    """Drop a schema finding where a rule reports the same path: the rule says it better."""
    ruled = {p.path for p in problems if p.severity == "error" and not p.rule.startswith("schema.")}
    return [p for p in problems if not (p.rule.startswith("schema.") and p.path in ruled)]


def _masked(problem: Problem, secrets: frozenset[str]) -> Problem:
    """``problem`` with every secret of this load, and anything key-shaped, masked.

    Findings leave through more than the CLI (which masks again): a refused reload logs them
    and shows them in /readyz, and ``require_route_table`` raises them as a ``ConfigError``.
    A key reaches them by accident: ``${OPENAI_API_KEY}`` written where a model ref goes, a
    token pasted into ``api`` one line above ``apiKey``.
    """
    return replace(
        problem,
        path=scrub_text(problem.path, secrets),
        found=scrub_text(problem.found, secrets),
        expected=scrub_text(problem.expected, secrets),
        fix=scrub_text(problem.fix, secrets),
    )


def _downgraded(problems: list[Problem]) -> list[Problem]:
    """``problems`` with the environmental errors as warnings, when every error is one."""
    errors = [p for p in problems if p.severity == "error"]
    if not errors or any(p.rule not in ENVIRONMENTAL_RULES for p in errors):
        return problems
    return [replace(p, severity="warning") if p.severity == "error" else p for p in problems]


def load_route_table(
    path: str | os.PathLike[str] | None = None,
    *,
    kind: str | None = None,
    environ: Mapping[str, str] | None = None,
    environmental_ok: bool = False,
) -> LoadResult:
    """Load and check a config file; ``path`` defaults to the file OpenClaw loads.

    ``environmental_ok`` (the operator commands that serve nothing): when every error is one
    of ``ENVIRONMENTAL_RULES`` (a key not set in this shell), they are warnings and the table
    is returned; its profiles without a key have ``secret`` None.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; found {kind!r}")
    env: Mapping[str, str] = os.environ if environ is None else environ
    file = Path(path).expanduser() if path else discover_config_path(env)
    doc, read_problems = read_document(file, environ=env)
    problems = list(read_problems)
    if doc is None:
        guess = kind or ("openclaw" if file.name in OPENCLAW_NAMES else "standalone")
        return LoadResult(None, tuple(problems), str(file), guess)
    found_kind: Kind = kind if kind in KINDS else detect_kind(file, doc, env)
    layers = build_layers(
        env, dotenv=read_dotenv(openclaw_state_root(env)), config_vars=env_vars_of(doc)
    )
    problems += check_schema(doc, found_kind) + check_finite(doc)
    substituted = substitute_tree(doc, layers, path="", problems=problems)
    view = build_view(substituted, found_kind)
    settings = build_settings(view.settings, state_dir=resolve_state_dir(env))
    n = Normalised(view, build_view(doc, found_kind), settings, problems=problems)
    where = view.settings_path
    local = _salt(settings.state.directory, problems, where=where)
    salt = _shared_salt(settings, local, problems, where=where)
    normalise(n, layers, salt=salt)
    check_rules(n)
    table = RouteTable(
        routes=MappingProxyType(dict(n.routes)),
        providers=MappingProxyType(dict(n.providers)),
        settings=settings,
        config_path=str(file),
        kind=found_kind,
        fingerprint_salt=salt,
    )
    secrets = loaded_secrets(doc, (v for _, v in layers.layers), table)
    problems = [_masked(p, secrets) for p in _without_shadowed(problems)]
    if environmental_ok:
        problems = _downgraded(problems)
    if any(p.severity == "error" for p in problems):
        return LoadResult(None, tuple(problems), str(file), found_kind)
    table = replace(table, version=route_table_version(table))
    return LoadResult(table, tuple(problems), str(file), found_kind)


def require_route_table(
    path: str | os.PathLike[str] | None = None,
    *,
    kind: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RouteTable:
    """Like ``load_route_table`` but returns the table, or raises ``ConfigError`` on errors."""
    result = load_route_table(path, kind=kind, environ=environ)
    if result.table is None:
        raise ConfigError(result.errors or result.problems, config_path=result.config_path)
    return result.table
