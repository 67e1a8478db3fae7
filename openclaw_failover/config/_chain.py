"""Reading a chain: ``primary`` then ``fallbacks[]`` or ``fallback, fallback2, ... fallbackN``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import Problem
from ._jsonpath import join
from ._view import FALLBACK_KEY


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One chain entry as written: its ``provider/model`` reference and JSON path."""

    ref: str
    path: str


def fallback_index(key: str) -> int | None:
    """1 for ``fallback``, N for ``fallbackN``, None for other keys."""
    match = FALLBACK_KEY.match(key)
    if not match:
        return None
    return int(match.group(1)) if match.group(1) else 1


def _slot_problem(path: str, key: str, found: str) -> Problem:
    return Problem(
        "chain.fallback-slot",
        join(path, key),
        found,
        "fallback, fallback2, fallback3, ... (one key per slot, numbered from 2 without zeros)",
        "rename it to the next free slot, or move the chain into fallbacks: [...]",
    )


def _slots(spec: Mapping[str, Any], path: str, problems: list[Problem]) -> list[tuple[int, str]]:
    """The numbered keys by slot; a key no slot can hold is a finding, never silently dropped.

    ``fallback0`` (no slot 0: the primary is) and ``fallback01`` (a zero) are refused;
    ``fallback`` and ``fallback1`` both name slot 1, so only one of them may be given.
    """
    taken: dict[int, str] = {}
    for key in sorted(spec, key=lambda k: (fallback_index(k) or 0, len(k), k)):
        idx = fallback_index(key)
        if idx is None:
            continue
        if idx < 1 or key.startswith("fallback0"):
            problems.append(_slot_problem(path, key, f"{key}, which names no fallback slot"))
        elif idx in taken:
            problems.append(
                _slot_problem(path, key, f"{key} and {taken[idx]}, both fallback slot {idx}")
            )
        else:
            taken[idx] = key
    return sorted(taken.items())


def _numbered(spec: Mapping[str, Any], path: str, problems: list[Problem]) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    expected = 1
    for idx, key in _slots(spec, path, problems):
        if idx != expected:
            missing = "fallback" if expected == 1 else f"fallback{expected}"
            problems.append(
                Problem(
                    "chain.fallback-gap",
                    join(path, key),
                    f"{key} without {missing}",
                    f"{missing} before {key} (numbered fallbacks must be consecutive)",
                    f"rename {key} to {missing}, or add {missing}",
                )
            )
        expected = idx + 1
        entries.append(ChainEntry(spec[key], join(path, key)))
    return entries


def _type_problem(path: str, value: Any) -> Problem:
    return Problem(
        "chain.invalid",
        path,
        f"{type(value).__name__} {value!r}"[:80],
        'a "provider/model" string',
        'write it as "provider/model", e.g. "anthropic/claude-opus-4-6"',
    )


def parse_chain(model: Any, *, path: str, problems: list[Problem]) -> list[ChainEntry]:
    """The chain's entries in order (primary first); findings go to ``problems``."""
    if isinstance(model, str):
        return [ChainEntry(model, path)]
    if not isinstance(model, dict):
        problems.append(
            Problem(
                "chain.missing",
                path,
                "no model chain" if model is None else type(model).__name__,
                "a string or {primary, fallbacks: [...]}",
                'set model: { primary: "provider/model", fallbacks: [...] }',
            )
        )
        return []
    entries: list[ChainEntry] = []
    primary = model.get("primary")
    if primary is None:
        problems.append(
            Problem(
                "chain.no-primary",
                join(path, "primary"),
                "no primary",
                'a "provider/model" primary',
                "add primary",
            )
        )
    else:
        entries.append(ChainEntry(primary, join(path, "primary")))
    numbered = _numbered(model, path, problems)
    listed = model.get("fallbacks")
    if listed is not None and numbered:
        problems.append(
            Problem(
                "chain.mixed-fallbacks",
                numbered[0].path,
                "both fallbacks[] and fallback/fallbackN",
                "one of the two forms",
                "move every fallbackN into fallbacks[] in order, or drop fallbacks[]",
            )
        )
    if isinstance(listed, list):
        entries += [ChainEntry(v, join(path, "fallbacks", i)) for i, v in enumerate(listed)]
    elif listed is not None:
        problems.append(_type_problem(join(path, "fallbacks"), listed))
    entries += numbered
    good = [e for e in entries if isinstance(e.ref, str)]
    problems.extend(_type_problem(e.path, e.ref) for e in entries if not isinstance(e.ref, str))
    return good
