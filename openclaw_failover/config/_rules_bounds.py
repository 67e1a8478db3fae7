"""Sanity bounds on durations and counts: past them a value is almost surely a typo.

The schema takes any positive number, as OpenClaw does; ``firstTokenS: 30000`` (30 written in
milliseconds) or ``maxAttemptsPerKey: 1000000`` would still hang a caller or hammer a provider.
These are warnings, never errors: a file OpenClaw accepts keeps loading. Each bound is far
above its default and states why nothing sane goes past it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import Problem
from ._jsonpath import join
from ._normalise import Normalised

_HOUR, _DAY = 3600, 86400


@dataclass(frozen=True, slots=True)
class Bound:
    """The most a setting sanely holds, its unit (``s``, ``ms`` or a count), and why."""

    limit: float
    unit: str
    why: str


_FIRST_TOKEN = Bound(_HOUR, "s", "a first token an hour away is a hung request")
_ATTEMPTS = "each attempt is a request sent upstream"
_COOLDOWN = "a key or model cooled for over a week is in effect disabled, which disable: true says"

#: Settings-block paths with their bounds (defaults: _model.Deadlines, Retries, ...).
SETTINGS_BOUNDS: Mapping[tuple[str, ...], Bound] = {
    ("deadlines", "interactiveFirstTokenS"): _FIRST_TOKEN,
    ("deadlines", "batchFirstTokenS"): _FIRST_TOKEN,
    ("deadlines", "localFirstTokenS"): _FIRST_TOKEN,
    ("deadlines", "streamIdleS"): Bound(600, "s", "10 min of silence mid-stream is a dead stream"),
    ("deadlines", "intentBudgetS"): Bound(_HOUR, "s", "a caller waiting over an hour has gone"),
    ("deadlines", "maxRequestDeadlineS"): Bound(_HOUR, "s", "a request over an hour has hung"),
    ("retries", "maxAttemptsPerKey"): Bound(20, "", f"{_ATTEMPTS} with the same key"),
    ("retries", "maxAttemptsPerIntent"): Bound(
        100, "", f"{_ATTEMPTS}; 100 covers a long chain with many keys each"
    ),
    ("retries", "inlineWaitMaxS"): Bound(600, "s", "the caller's connection is held meanwhile"),
    ("sidecar", "timeoutMs"): Bound(60_000, "ms", "each OpenClaw hook call waits this long"),
    ("audit", "keep"): Bound(100, "", "rotated audit files kept on disk"),
    ("probeIntervalS",): Bound(_DAY, "s", "probes rarer than daily never see a recovery"),
    ("failureWindowS",): Bound(30 * _DAY, "s", "failure counts and Redis keys live this long"),
}
COOLDOWN_BOUNDS: Mapping[str, Bound] = {
    "baseS": Bound(7 * _DAY, "s", _COOLDOWN),
    "capS": Bound(7 * _DAY, "s", _COOLDOWN),
    "maxRetryAfterS": Bound(7 * _DAY, "s", "a Retry-After over a week is a provider's error"),
}
MAX_CONCURRENT = Bound(1000, "", "past this the limit no longer protects the provider")


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None  # a string, NaN or Infinity: the schema's or number.non-finite's finding


def likely_typo(value: float, bound: Bound) -> str:
    """The value the writer probably meant, and the slip that gives ``value``."""
    if bound.unit == "s" and value % 1000 == 0 and value / 1000 <= bound.limit:
        return (
            f"milliseconds written where seconds are due (did you mean {_plain(value / 1000)} s?)"
        )
    if bound.unit == "ms" and value / 1000 <= bound.limit:
        return f"seconds made milliseconds twice (did you mean {_plain(value / 1000)} ms?)"
    for zeros in range(1, 4):
        meant = value / 10**zeros
        if meant <= bound.limit and meant == int(meant):
            extra = "an extra 0" if zeros == 1 else f"{zeros} extra 0s"
            return f"{extra} (did you mean {_unit(meant, bound.unit)}?)"
    return "extra digits or a wrong exponent"


def _plain(value: float) -> str:
    """``30000`` and ``1000000000000``, not ``3e+04``; fractions as written."""
    return str(int(value)) if value == int(value) and value < 1e16 else f"{value:g}"


def _unit(value: float, unit: str) -> str:
    """The value with its unit, and a long duration also in minutes, hours or days."""
    seconds = value / 1000 if unit == "ms" else value
    text = f"{_plain(value)} {unit}".rstrip()
    if unit not in ("s", "ms") or seconds < 120:
        return text
    for size, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{text} = {seconds / size:.3g} {name}"
    return text


def implausible(path: str, value: float, bound: Bound) -> Problem:
    """The warning for ``value`` at ``path``, past ``bound``."""
    key = path.rsplit(".", 1)[-1]
    return Problem(
        "settings.implausible",
        path,
        f"{key} {_unit(value, bound.unit)}",
        f"at most {_unit(bound.limit, bound.unit)} ({bound.why})",
        f"likely a typo: {likely_typo(value, bound)}; lower it, or keep it if it is meant",
        severity="warning",
    )


def _values(n: Normalised) -> Iterator[tuple[str, Any, Bound]]:
    block, base = n.view.settings, n.view.settings_path
    for keys, bound in SETTINGS_BOUNDS.items():
        parent = block.get(keys[0]) if len(keys) > 1 else block
        if isinstance(parent, dict):
            yield join(base, *keys), parent.get(keys[-1]), bound
    cooldowns = block.get("cooldowns")
    for reason, spec in cooldowns.items() if isinstance(cooldowns, dict) else ():
        for key, bound in COOLDOWN_BOUNDS.items():
            if isinstance(spec, dict):
                yield join(base, "cooldowns", reason, key), spec.get(key), bound
    for pid, spec in n.view.providers.items():
        if isinstance(spec, dict):
            path = join(n.view.providers_path, pid, "maxConcurrent")
            yield path, spec.get("maxConcurrent"), MAX_CONCURRENT


def check(n: Normalised) -> None:
    """A warning for each duration or count past its bound."""
    for path, raw, bound in _values(n):
        value = _number(raw)
        if value is not None and value > bound.limit:
            n.problems.append(implausible(path, value, bound))
