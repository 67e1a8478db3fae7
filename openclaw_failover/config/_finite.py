"""The finite-number rule: JSON5 allows ``NaN`` and ``Infinity``, no setting here does.

JSON Schema cannot say "finite": ``NaN`` passes every ``minimum``/``maximum`` (each comparison
with it is false) and ``Infinity`` passes any bound on the open side. Such a value then breaks
serving (a NaN deadline expires at once; an infinite one overflows where it becomes an int).
One walk over the whole loaded document covers every number, whichever schema or rule owns it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .._errors import Problem
from ._jsonpath import join


def non_finite_name(value: float) -> str:
    """The JSON5 word for a non-finite float, as the operator wrote it."""
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _non_finite(value: Any, path: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path or "$", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, join(path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, join(path, i))


def check_finite(doc: Any) -> list[Problem]:
    """One ``number.non-finite`` error per NaN or (-)Infinity anywhere in ``doc``."""
    return [
        Problem(
            "number.non-finite",
            path,
            non_finite_name(value),
            "a finite number",
            "write a plain number, or remove the key to use the default",
        )
        for path, value in _non_finite(doc, "")
    ]
