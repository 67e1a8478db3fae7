"""OpenClaw's environment: the layered sources and ``${VAR}`` substitution with its rules.

Sources, first wins, none overrides a name already set (reference section 1): the process env,
then ``$OPENCLAW_STATE_DIR/.env``, then the config's ``env.vars``. Substitution matches only
uppercase names; a missing or empty variable stays literal (and draws a warning); ``$${VAR}``
escapes to a literal ``${VAR}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import Problem
from ._jsonpath import join

_REF = re.compile(r"\$?\$\{([A-Z_][A-Z0-9_]*)\}")
_WHOLE_REF = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")
#: A reference with a lower-case letter: OpenClaw leaves it literal (``$${...}`` is escaped).
_LOWER_REF = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*)\}")
_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class EnvLayers:
    """The ordered environment sources; each layer is ``(source name, variables)``."""

    layers: tuple[tuple[str, Mapping[str, str]], ...]

    def lookup(self, name: str) -> tuple[str, str] | None:
        """``(value, source)`` of the first layer where ``name`` is set and not empty."""
        for source, variables in self.layers:
            value = variables.get(name)
            if value:
                return value, source
        return None

    def names(self) -> Iterator[str]:
        """Every variable name any layer sets (with a value)."""
        seen: set[str] = set()
        for _, variables in self.layers:
            for name, value in variables.items():
                if value and name not in seen:
                    seen.add(name)
                    yield name


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (``export``, quotes and ``#`` comments allowed)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            continue
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        out.setdefault(name, value)
    return out


def read_dotenv(state_root: Path) -> dict[str, str]:
    """The variables of ``<state root>/.env``; empty when it is missing or unreadable."""
    try:
        return parse_dotenv((state_root / ".env").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def env_vars_of(doc: Mapping[str, Any]) -> dict[str, str]:
    """The config's ``env.vars`` block (string values only)."""
    env = doc.get("env")
    block = env.get("vars") if isinstance(env, dict) else None
    if not isinstance(block, dict):
        return {}
    return {k: v for k, v in block.items() if isinstance(k, str) and isinstance(v, str)}


def build_layers(
    process: Mapping[str, str], *, dotenv: Mapping[str, str], config_vars: Mapping[str, str]
) -> EnvLayers:
    """The three sources in OpenClaw's order."""
    return EnvLayers((("env", process), (".env", dotenv), ("env.vars", config_vars)))


def whole_reference(raw: str) -> str | None:
    """The variable name when ``raw`` is exactly ``${VAR}``, else None."""
    match = _WHOLE_REF.match(raw)
    return match.group(1) if match else None


def substitute(raw: str, env: EnvLayers) -> tuple[str, tuple[str, ...]]:
    """Substitute ``${VAR}`` in one string; returns the text and the names left unset."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("$$"):
            return text[1:]
        found = env.lookup(match.group(1))
        if found is None:
            missing.append(match.group(1))
            return text
        return found[0]

    return _REF.sub(replace, raw), tuple(missing)


def substitute_tree(value: Any, env: EnvLayers, *, path: str, problems: list[Problem]) -> Any:
    """Substitute every string in a JSON tree; an unset variable is a warning at its path."""
    if isinstance(value, str):
        problems.extend(_lower_case_refs(value, path))
        text, missing = substitute(value, env)
        for name in missing:
            problems.append(
                Problem(
                    "env.unset",
                    path or "$",
                    f"${{{name}}} with {name} unset or empty",
                    f"{name} set in the process env, $OPENCLAW_STATE_DIR/.env or env.vars",
                    f"export {name}=... or add it to env.vars",
                    severity="warning",
                )
            )
        return text
    if isinstance(value, list):
        return [
            substitute_tree(v, env, path=join(path, i), problems=problems)
            for i, v in enumerate(value)
        ]
    if isinstance(value, dict):
        return {
            k: substitute_tree(v, env, path=join(path, k), problems=problems)
            for k, v in value.items()
        }
    return value


def _lower_case_refs(raw: str, path: str) -> list[Problem]:
    """A warning per ``${name}`` with a lower-case letter: it never substitutes, so it would
    go out literally (as a key, say)."""
    return [
        Problem(
            "env.lowercase",
            path or "$",
            f"${{{name}}}, which OpenClaw leaves literal (it substitutes upper-case names only)",
            "a reference like ${NAME} ([A-Z_][A-Z0-9_]*)",
            f"write ${{{name.upper()}}} (and set {name.upper()})",
            severity="warning",
        )
        for name in _LOWER_REF.findall(raw)
    ]
