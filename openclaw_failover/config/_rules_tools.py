"""Tool-list rules: every name in ``tools.highRisk`` / ``highRiskDeferred`` / ``alsoHighRisk`` /
``allowOnLocal`` is one the guard can match.

The guard matches whole names (read as :func:`policy_word` reads them), so a wildcard such as
``exec*`` or a character no OpenClaw tool name has would match nothing: a high-risk entry would
block nothing, silently. A group name must be one of :data:`TOOL_GROUPS`, for the same reason.
"""

from __future__ import annotations

import re

from .._errors import Problem
from .._toolpolicy import TOOL_GROUPS, policy_word
from ._jsonpath import join
from ._normalise import Normalised

#: The settings lists that name tools.
_LISTS = ("highRisk", "highRiskDeferred", "alsoHighRisk", "allowOnLocal")
#: A tool name in every schema OpenClaw 2026.9.6 sends, after case-folding and ``-`` as ``_``.
_NAME = re.compile(r"[a-z0-9_]+")
_NOT_NAME = re.compile(r"[^a-z0-9_]")
_GROUP = "group:"
_WILDCARDS = frozenset("*?[]")


def _invalid(path: str, entry: str, word: str) -> Problem:
    bad = sorted(set(_NOT_NAME.findall(word)))
    what = f"{entry[:80]!r}, which holds {' '.join(map(repr, bad))}" if bad else repr(entry)
    if _WILDCARDS & set(bad):
        what += " (a wildcard)"
    return Problem(
        "tools.invalid-name",
        path,
        what,
        "a tool name as OpenClaw spells it: letters, digits, '_' or '-' (any case), no "
        'wildcards, or a group such as "group:runtime"',
        'list each tool by its name, e.g. "exec", "apply_patch", or use a group',
    )


def _unknown_group(path: str, entry: str, word: str) -> Problem:
    why = (
        " (OpenClaw fills group:plugins at run time from the plugins it loaded: name its tools)"
        if word == "group:plugins"
        else ""
    )
    return Problem(
        "tools.unknown-group",
        path,
        f"the group {entry[:80]!r}{why}",
        "one of " + ", ".join(sorted(TOOL_GROUPS)),
        "use one of these groups, or list the tools by name",
    )


def _entry(path: str, entry: str) -> Problem | None:
    word = policy_word(entry)
    if word.startswith(_GROUP):
        return None if word in TOOL_GROUPS else _unknown_group(path, entry, word)
    return None if _NAME.fullmatch(word) else _invalid(path, entry, word)


def check(n: Normalised) -> None:
    """Each tool list's entries (checked after ${VAR} substitution)."""
    block = n.view.settings.get("tools")
    if not isinstance(block, dict):
        return
    base = join(n.view.settings_path, "tools")
    for key in _LISTS:
        entries = block.get(key)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            found = _entry(join(base, key, i), entry) if isinstance(entry, str) else None
            if found is not None:
                n.problems.append(found)
