"""Keys written twice in one object: the last one wins (as in OpenClaw's JSON5), and we say so.

The parsers keep the last value silently, so a second ``primary:`` pasted below the first
would change the chain with no trace. This second look at the text (a scan of its tokens, see
:mod:`._json5_scan`) only finds the repeats; the document itself comes from
:func:`._source.parse_text`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .._errors import Problem
from ._json5_scan import Path, repeated_keys
from ._jsonpath import join

#: Plain JSON (what OpenClaw's own writers produce) is checked at any size by the standard
#: library's parser, hooked. Other JSON5 texts up to this size are scanned token by token
#: (about 0.3 ms per KB; 1 ms per KB for a text of nothing but tiny values), so a load stays
#: well under a second; a larger one is not checked.
MAX_JSON5_CHECK_BYTES = 256 * 1024


def _hooked_json(text: str) -> list[tuple[Path, str]] | None:
    """The repeats of a plain-JSON text, from the C parser with a hook; None if not JSON.

    The parser builds objects inside out, so their paths are found afterwards by walking the
    tree; an object that a later copy of its own key replaced is not in the tree, and its
    repeats are not reported.
    """
    repeats: dict[int, tuple[dict[str, Any], list[str]]] = {}

    def hook(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:  # the entry keeps ``obj`` alive: its id stays its own
                repeats.setdefault(id(obj), (obj, []))[1].append(key)
            obj[key] = value
        return obj

    try:
        tree = json.loads(text, object_pairs_hook=hook)
    except ValueError:
        return None
    out: list[tuple[Path, str]] = []
    stack: list[tuple[Any, Path]] = [(tree, ())]
    while stack and repeats:
        value, path = stack.pop()
        if isinstance(value, dict):
            out += [(path, key) for key in repeats.get(id(value), ({}, []))[1]]
            stack.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return out


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
    found = _hooked_json(text)
    if found is None and len(text) <= MAX_JSON5_CHECK_BYTES:
        found = repeated_keys(text)
    out: dict[tuple[Path, str], Problem] = {}
    for path, key in found or ():
        if (path, key) not in out:  # a key given three times is one warning
            out[path, key] = Problem(
                "file.duplicate-key",
                join(base, *path, key),
                _where(key, join("", *path, key), source),
                "each key once per object",
                "delete the copies you do not mean; OpenClaw also reads only the last",
                severity="warning",
            )
    return sorted(out.values(), key=lambda p: p.path)
