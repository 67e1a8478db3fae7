"""Keys written twice in one object: the last one wins (as in OpenClaw's JSON5), and we say so.

The parsers keep the last value silently, so a second ``primary:`` pasted below the first
would change the chain with no trace. This second, hooked parse only finds the repeats; the
document itself comes from :func:`._source.parse_text`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import json5

from .._errors import Problem
from ._jsonpath import join

#: The pure-Python JSON5 parser takes about 8 ms per KB (a 20 KB config: 170 ms, against 14 ms
#: for the whole load without it), and every load pays it: serve, each reload, each command.
#: Larger JSON5 files are not checked, so a load stays well under a second (plain JSON, what
#: OpenClaw's own writers produce, is checked at any size).
MAX_JSON5_CHECK_BYTES = 64 * 1024


def _hooked(text: str) -> tuple[Any, dict[int, list[str]]]:
    repeats: dict[int, list[str]] = {}

    def hook(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                repeats.setdefault(id(obj), []).append(key)
            obj[key] = value
        return obj

    try:
        return json.loads(text, object_pairs_hook=hook), repeats
    except ValueError:
        repeats.clear()
    if len(text) > MAX_JSON5_CHECK_BYTES:
        return None, {}
    return json5.loads(text, object_pairs_hook=hook), repeats


def _where(key: str, inner: str, source: str | None) -> str:
    if source is None:
        return f"{key!r} given more than once in one object (the last one is used)"
    return (
        f"{key!r} given more than once in one object of the included file {source}, "
        f"at {inner} there (the last one is used)"
    )


def duplicate_keys(text: str, *, base: str, source: str | None = None) -> list[Problem]:
    """A warning per key repeated within one object of ``text``, at the key's JSON path.

    ``source``: the included file ``text`` was read from; the warning names it and the key's
    path inside it, since the path in the merged document does not say which file to edit.
    """
    try:
        tree, repeats = _hooked(text)
    except (ValueError, RecursionError):  # the main parse already reported what is wrong
        return []
    out: list[Problem] = []
    # ``tree`` keeps every id in ``repeats`` alive; each item: value, merged path, path in text
    stack: list[tuple[Any, str, str]] = [(tree, base, "")]
    while stack and repeats:
        value, path, inner = stack.pop()
        if isinstance(value, dict):
            for key in dict.fromkeys(repeats.get(id(value), ())):
                out.append(
                    Problem(
                        "file.duplicate-key",
                        join(path, key),
                        _where(key, join(inner, key), source),
                        "each key once per object",
                        "delete the copies you do not mean; OpenClaw also reads only the last",
                        severity="warning",
                    )
                )
            stack.extend((v, join(path, k), join(inner, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, join(path, i), join(inner, i)) for i, v in enumerate(value))
    return sorted(out, key=lambda p: p.path)
