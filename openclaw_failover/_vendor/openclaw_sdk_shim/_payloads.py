"""Event and context payloads of the hooks this package uses, as frozen dataclasses.

Each class mirrors one TypeScript type of OpenClaw 2026.9.6 (named in :data:`TS_TYPES`). Field
names are the host's camelCase names in snake_case. Unknown fields are tolerated and kept in
``extra`` (the host adds fields often), and :func:`to_json` writes them back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Final, TypeVar

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


def _keep() -> Mapping[str, Any]:
    return _EMPTY


def camel(name: str) -> str:
    """``time_to_first_byte_ms`` -> ``timeToFirstByteMs`` (the host's spelling)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """``timeToFirstByteMs`` -> ``time_to_first_byte_ms``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True, slots=True)
class AgentContext:
    """``PluginHookAgentContext``: the ctx of agent-phase hooks (model and prompt hooks)."""

    run_id: str | None = None
    job_id: str | None = None
    agent_id: str | None = None
    session_key: str | None = None
    session_id: str | None = None
    workspace_dir: str | None = None
    model_provider_id: str | None = None
    model_id: str | None = None
    message_provider: str | None = None
    channel: str | None = None
    trigger: str | None = None
    context_token_budget: int | None = None
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """``PluginHookToolContext``: the ctx of tool hooks. It carries no model (2026.9.6)."""

    agent_id: str | None = None
    session_key: str | None = None
    session_id: str | None = None
    run_id: str | None = None
    tool_name: str = ""
    tool_call_id: str | None = None
    requester: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class BeforeModelResolveEvent:
    """``PluginHookBeforeModelResolveEvent``: only the prompt, before the session loads."""

    prompt: str = ""
    attachments: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class BeforePromptBuildEvent:
    """``PluginHookBeforePromptBuildEvent``: the prepared prompt and session messages."""

    prompt: str = ""
    messages: tuple[Any, ...] = ()
    current_user_message: str | None = None
    current_user_message_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class ModelCallStartedEvent:
    """``PluginHookModelCallStartedEvent``: one provider attempt begins."""

    run_id: str = ""
    call_id: str = ""
    session_key: str | None = None
    session_id: str | None = None
    provider: str = ""
    model: str = ""
    api: str | None = None
    transport: str | None = None
    context_token_budget: int | None = None
    context_window_source: str | None = None
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class ModelCallEndedEvent:
    """``PluginHookModelCallEndedEvent``: one attempt's outcome; no HTTP status, no prompt."""

    run_id: str = ""
    call_id: str = ""
    session_key: str | None = None
    session_id: str | None = None
    provider: str = ""
    model: str = ""
    api: str | None = None
    transport: str | None = None
    context_token_budget: int | None = None
    context_window_source: str | None = None
    duration_ms: float = 0.0
    outcome: str = ""
    error_category: str | None = None
    failure_kind: str | None = None
    request_payload_bytes: int | None = None
    response_stream_bytes: int | None = None
    time_to_first_byte_ms: float | None = None
    upstream_request_id_hash: str | None = None
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class BeforeToolCallEvent:
    """``PluginHookBeforeToolCallEvent``: the tool about to run and its params."""

    tool_name: str = ""
    params: Mapping[str, Any] = field(default_factory=_keep)
    tool_kind: str | None = None
    tool_input_kind: str | None = None
    run_id: str | None = None
    tool_call_id: str | None = None
    derived_paths: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class AfterToolCallEvent:
    """``PluginHookAfterToolCallEvent``: what a tool call did."""

    tool_name: str = ""
    params: Mapping[str, Any] = field(default_factory=_keep)
    run_id: str | None = None
    tool_call_id: str | None = None
    result: Any = None
    error: str | None = None
    duration_ms: float | None = None
    extra: Mapping[str, Any] = field(default_factory=_keep)


@dataclass(frozen=True, slots=True)
class AgentEndEvent:
    """``PluginHookAgentEndEvent``: one agent attempt ended. OpenClaw 2026.9.6 fires it per
    attempt (each fallback candidate's pass), not once per run. ``messages`` and ``error`` are
    left to ``extra`` on purpose: conversation text this package never reads."""

    run_id: str | None = None
    success: bool = False
    duration_ms: float | None = None
    extra: Mapping[str, Any] = field(default_factory=_keep)


#: Which host type each payload mirrors (checked against the installed package by a test).
TS_TYPES: Final[Mapping[type, str]] = MappingProxyType(
    {
        AgentContext: "PluginHookAgentContext",
        ToolContext: "PluginHookToolContext",
        BeforeModelResolveEvent: "PluginHookBeforeModelResolveEvent",
        BeforePromptBuildEvent: "PluginHookBeforePromptBuildEvent",
        ModelCallStartedEvent: "PluginHookModelCallStartedEvent",
        ModelCallEndedEvent: "PluginHookModelCallEndedEvent",
        BeforeToolCallEvent: "PluginHookBeforeToolCallEvent",
        AfterToolCallEvent: "PluginHookAfterToolCallEvent",
        AgentEndEvent: "PluginHookAgentEndEvent",
    }
)

#: hook name -> (event type, ctx type) for the hooks this package uses.
HOOK_PAYLOADS: Final[Mapping[str, tuple[type, type]]] = MappingProxyType(
    {
        "before_model_resolve": (BeforeModelResolveEvent, AgentContext),
        "before_prompt_build": (BeforePromptBuildEvent, AgentContext),
        "model_call_started": (ModelCallStartedEvent, AgentContext),
        "model_call_ended": (ModelCallEndedEvent, AgentContext),
        "before_tool_call": (BeforeToolCallEvent, ToolContext),
        "after_tool_call": (AfterToolCallEvent, ToolContext),
        "agent_end": (AgentEndEvent, AgentContext),
    }
)

P = TypeVar("P")


def _freeze(value: Any, annotation: str) -> Any:
    if annotation.startswith("tuple") and isinstance(value, list):
        return tuple(value)
    if annotation.startswith("Mapping") and isinstance(value, dict):
        return MappingProxyType(dict(value))
    return value


def from_json(cls: type[P], data: Mapping[str, Any] | None) -> P:
    """Build ``cls`` from a host payload; unknown keys go to ``extra``, missing ones default."""
    data = data or {}
    known: dict[str, Any] = {}
    names: set[str] = set()
    for f in fields(cls):  # type: ignore[arg-type]  # every payload class is a dataclass
        if f.name == "extra":
            continue
        key = camel(f.name)
        names.add(key)
        if key in data and data[key] is not None:
            known[f.name] = _freeze(data[key], str(f.type))
    extra = {k: v for k, v in data.items() if k not in names}
    factory: Callable[..., P] = cls
    return factory(**known, extra=MappingProxyType(extra))


def to_json(payload: Any) -> dict[str, Any]:
    """The host's camelCase shape: set fields (not None) plus every kept unknown field."""
    out: dict[str, Any] = dict(getattr(payload, "extra", _EMPTY))
    for f in fields(payload):
        if f.name == "extra":
            continue
        value = getattr(payload, f.name)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        out[camel(f.name)] = value
    return out
