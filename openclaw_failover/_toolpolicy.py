"""The high-risk tool policy for the local tier, as data: which tools are off, and which calls.

Pure. Both the proxy and the plugin ask this module; the JS bridge receives
:func:`high_risk_set` at start-up so it can still block when the sidecar is silent.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._model import ToolSettings

__all__ = [
    "ALIASES",
    "CODE_MODE_TOOL",
    "TOOL_GROUPS",
    "blocked_name",
    "expand_tools",
    "filter_tools",
    "function_name",
    "high_risk_set",
    "is_blocked",
    "name_forms",
    "policy_word",
    "text_call_words",
    "tool_call_targets",
    "tool_name",
]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: OpenClaw's tool groups, which the ``tools`` settings accept: ``CORE_TOOL_GROUPS`` as read from
#: the OpenClaw 2026.9.6 dist (tool-catalog module; a test checks the installed one). A group
#: here holds at least OpenClaw's members, never fewer, plus aliases (``bash``, ``cron``).
#: The one exception is ``group:fs``, which means its writes here (design: "High-risk tools"):
#: OpenClaw's also has ``ls`` and ``read``, and reading files is harmless on the local tier.
#: ``group:plugins`` is not here: OpenClaw fills it at run time from the plugins it loaded.
_GROUPS: dict[str, tuple[str, ...]] = {
    "group:runtime": _words("exec bash process code_execution secrets"),
    "group:fs": _words("write edit apply_patch"),
    "group:automation": _words("heartbeat_respond automations cron gateway plugins openclaw"),
    "group:messaging": _words("message"),
    "group:nodes": _words("nodes computer mobile_ui"),
    "group:web": _words("web_search x_search web_fetch"),
    "group:ui": _words("browser screen theme dashboard terminal portal canvas show_widget"),
    "group:memory": _words("memory_search memory_get"),
    "group:sessions": _words(
        "sessions sessions_list sessions_history sessions_search conversations_list "
        "conversations_send conversations_turn sessions_send sessions_spawn "
        "github_identity_status github_publish agents_wait sessions_yield subagents "
        "session_status suggest_task dismiss_task"
    ),
    "group:agents": _words(
        "agents_list get_goal create_goal update_goal progress_card ask_user skill_workshop"
    ),
    "group:media": _words("view_image image_generate music_generate video_generate tts pdf"),
}

#: ``group:openclaw`` is every core tool but the files, ``exec``, ``process`` and ``canvas``
#: (OpenClaw's ``includeInOpenClawGroup``): the other groups' members, in their order.
_OUTSIDE_OPENCLAW_GROUP = frozenset({"exec", "bash", "process", "canvas"})
_GROUPS["group:openclaw"] = tuple(
    dict.fromkeys(
        tool
        for name, members in _GROUPS.items()
        if name != "group:fs"
        for tool in members
        if tool not in _OUTSIDE_OPENCLAW_GROUP
    )
)
TOOL_GROUPS: Mapping[str, tuple[str, ...]] = _GROUPS

#: OpenClaw aliases: ``bash`` is ``exec``, ``cron`` is ``automations`` (reference section 6).
ALIASES: Mapping[str, str] = {
    "bash": "exec",
    "exec": "bash",
    "cron": "automations",
    "automations": "cron",
}

#: The meta tool whose ``id`` argument names a deferred tool (tool search, 2026.9.6).
_TOOL_CALL = "tool_call"
#: OpenClaw 2026.9.6's code-mode tool search (``TOOL_SEARCH_CODE_MODE_TOOL_NAME``): it runs the
#: model's JavaScript, whose ``openclaw.tools.call('terminal', ...)`` reaches every deferred
#: tool. Its targets cannot be read, so it is high-risk whenever any tool is (fail safe, as a
#: ``tool_call`` with no readable target); ``allowOnLocal`` may name it.
CODE_MODE_TOOL = "tool_search_code"
#: Where a ``tool_call`` may name its target. OpenClaw 2026.9.6 takes the first of ``id``,
#: ``toolId``, ``name`` that is in its catalog, and ``args.id`` when none of those is at the
#: top; every one counts here, as any could be the one it runs (``tool``/``tool_id`` too).
_SELECTORS = ("id", "toolId", "name")
_OTHER_FIELDS = ("tool_id", "tool")
_NESTED_FIELDS = ("args", "arguments")

#: A tool name is ``[a-z0-9_-]`` in every schema OpenClaw sends; anything else splits it.
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
#: What OpenClaw 2026.9.6's dispatch drops from a called name before it looks the tool up
#: (``resolveToolCallName``): a namespace in front, its separator optional (``functions_exec``,
#: ``toolexec``), and a call counter behind (``exec1``, ``exec_2``, ``exec-3``).
_SHORTENINGS = (re.compile(r"^(?:functions?|tools?)[_-]?"), re.compile(r"[_-]?[0-9]+$"))


def name_forms(raw: str) -> frozenset[str]:
    """Every tool a host may run for the called name ``raw``, lower-cased.

    OpenClaw's dispatch is forgiving (trim, any case, ``apply-patch`` for ``apply_patch``,
    ``functions.exec`` / ``tools/exec`` / ``functions:exec`` / ``toolexec`` / ``exec1`` for
    ``exec``), so the guard must see through the same spellings or a model walks past it.
    Each piece of the name between characters no tool name has counts, so one mangled
    spelling cannot hide a high-risk tool; a piece also counts without the namespace or
    counter OpenClaw drops, and with ``-`` read as ``_``.
    """
    name = _folded(raw)
    forms = {name, *(piece for piece in _NOT_NAME.split(name) if piece)}
    forms |= {form.replace("-", "_") for form in forms}
    for _ in range(2):  # a namespace and a counter, in either order
        forms |= {
            shorter
            for form in forms
            for pattern in _SHORTENINGS
            if (shorter := pattern.sub("", form, count=1)) and shorter != form
        }
    return frozenset(forms)


#: Where OpenClaw 2026.9.6 reads a tool name in an answer's text. Its tool-call repair runs a
#: text that is nothing but such calls as real calls: ``<function=NAME>``, ``[NAME]`` or
#: ``[tool:NAME]`` before a ``{`` or ``<`` payload, and Harmony's ``to=NAME``.
_TEXT_CALL = re.compile(
    r"<function=([a-z0-9_.:-]+)|\[(?:tool:)?([a-z0-9_-]+)\](?=\s*[{<])|to=([a-z0-9_-]+)",
    re.IGNORECASE,
)


def text_call_words(text: str, policy: frozenset[str]) -> tuple[str, ...]:
    """The policy's words for the high-risk calls a host may read in an answer's ``text``, in
    order, once each. A ``tool_call`` written as text counts: its target is not read there
    (fail safe)."""
    words: dict[str, None] = {}
    for match in _TEXT_CALL.finditer(text):
        forms = name_forms(next(group for group in match.groups() if group))
        matched = forms & policy
        if matched:
            words[min(matched)] = None
        elif _TOOL_CALL in forms:
            words[_TOOL_CALL] = None
    return tuple(words)


def policy_word(raw: str) -> str:
    """An operator-written tool or group name as the policy holds it: trimmed, case-folded,
    ``-`` read as ``_`` (OpenClaw runs ``apply_patch`` for ``apply-patch``; :func:`name_forms`
    reads a called name the same way)."""
    return _folded(raw).replace("-", "_")


def _folded(raw: str) -> str:
    """``raw`` NFKC-normalised, trimmed and lower-cased, as OpenClaw compares tool names."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


def expand_tools(names: Iterable[str]) -> frozenset[str]:
    """Tool names with groups expanded and aliases added, as :func:`policy_word` reads them."""
    out: set[str] = set()
    for raw in names:
        name = policy_word(raw)
        members = TOOL_GROUPS.get(name, (name,))
        for member in members:
            out.add(member)
            alias = ALIASES.get(member)
            if alias is not None:
                out.add(alias)
    return frozenset(out)


def high_risk_set(tools: ToolSettings) -> frozenset[str]:
    """Every tool off on the local tier: the list, the deferred ones and the operator's
    additions, minus ``allowOnLocal``; and :data:`CODE_MODE_TOOL` when any of them is left."""
    allowed = expand_tools(tools.allow_on_local)
    listed = (*tools.high_risk, *tools.high_risk_deferred, *tools.also_high_risk)
    blocked = expand_tools(listed) - allowed
    return blocked | ({CODE_MODE_TOOL} - allowed) if blocked else blocked


def tool_call_targets(arguments: Mapping[str, Any] | str | None) -> tuple[str, ...]:
    """Every tool a ``tool_call`` may name, from a mapping or JSON text: lower-cased, a
    catalog id's prefix dropped (``openclaw:core:exec`` is ``exec``); empty if none."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else None
        except ValueError:
            return ()
    if not isinstance(arguments, Mapping):
        return ()
    found = _named(arguments, _SELECTORS)
    if not found:  # no selector at the top: OpenClaw lifts a nested args.id
        for field in _NESTED_FIELDS:
            nested = arguments.get(field)
            if isinstance(nested, Mapping):
                found += _named(nested, ("id",))
    return found + _named(arguments, _OTHER_FIELDS)


def _named(arguments: Mapping[str, Any], fields: tuple[str, ...]) -> tuple[str, ...]:
    values = (arguments.get(field) for field in fields)
    return tuple(v.strip().lower().rsplit(":", 1)[-1] for v in values if isinstance(v, str) and v)


def is_blocked(
    tool_name: str, params: Mapping[str, Any] | str | None, policy: frozenset[str]
) -> bool:
    """True when this call must not run on the local tier: a high-risk tool under any spelling
    :func:`name_forms` reads, or a ``tool_call`` aimed at one. An unreadable ``tool_call``
    target is blocked (fail safe)."""
    return blocked_name(tool_name, params, policy) is not None


def blocked_name(
    tool_name: str, params: Mapping[str, Any] | str | None, policy: frozenset[str]
) -> str | None:
    """The policy's name for a call :func:`is_blocked` refuses (``exec`` for ``functions.exec``,
    ``tool_call`` for a ``tool_call``), else None.

    The called name is the model's text, of any length, and may carry anything it read (a key
    in the prompt); audit lines and refusals name the tool by this policy word instead.
    """
    forms = name_forms(tool_name)
    matched = forms & policy
    if matched:
        return min(matched)
    if _TOOL_CALL not in forms:
        return None
    targets = tool_call_targets(params)
    if not targets or any(name_forms(target) & policy for target in targets):
        return _TOOL_CALL
    return None


def tool_name(tool: Any) -> str | None:
    """The function name of an OpenAI ``tools[]`` entry or ``tool_choice`` object."""
    if isinstance(tool, Mapping):
        fn = tool.get("function")
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            return str(fn["name"])
    return None


def function_name(function: Any) -> str | None:
    """The name of a legacy ``functions[]`` entry or ``function_call`` object."""
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return str(function["name"])
    return None


#: Where a request offers tools, where it may force one, and how an entry names its tool:
#: ``tools``/``tool_choice``, and the legacy ``functions``/``function_call`` that OpenAI-style
#: servers still honour.
_OFFERS: tuple[tuple[str, str, Callable[[Any], str | None]], ...] = (
    ("tools", "tool_choice", tool_name),
    ("functions", "function_call", function_name),
)


def filter_tools(
    body: Mapping[str, Any], policy: frozenset[str]
) -> tuple[Mapping[str, Any], tuple[str, ...]]:
    """``body`` without the high-risk entries of ``tools`` (and legacy ``functions``), and the
    removed names in order.

    Returns ``body`` itself when nothing is removed. A ``tool_choice`` / ``function_call``
    naming a high-risk tool (any spelling) becomes ``auto``; with no tool left, the offer and
    its choice are dropped.
    """
    out = dict(body)
    removed: list[str] = []
    for field, choice, name_of in _OFFERS:
        removed += _narrow(out, field, choice, name_of, policy)
    if not removed:
        return body, ()
    return out, tuple(removed)


def _narrow(
    out: dict[str, Any],
    field: str,
    choice: str,
    name_of: Callable[[Any], str | None],
    policy: frozenset[str],
) -> list[str]:
    """Take the high-risk entries out of ``out[field]``; the removed names."""
    offered = out.get(field)
    if not isinstance(offered, list) or not offered:
        return []
    kept: list[Any] = []
    removed: list[str] = []
    for entry in offered:
        name = name_of(entry)
        if name is not None and name_forms(name) & policy:
            removed.append(name)
        else:
            kept.append(entry)
    if not removed:
        return []
    if kept:
        out[field] = kept
        chosen = name_of(out.get(choice))
        if chosen is not None and name_forms(chosen) & policy:
            out[choice] = "auto"
    else:
        for gone in (field, choice, "parallel_tool_calls" if field == "tools" else ""):
            out.pop(gone, None)
    return removed
