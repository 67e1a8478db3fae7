"""Hook results and registration values (tools, CLI, services), mirroring OpenClaw 2026.9.6."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from ._payloads import to_json


@dataclass(frozen=True, slots=True)
class BeforeModelResolveResult:
    """``PluginHookBeforeModelResolveResult``: seed this run with another provider/model."""

    provider_override: str | None = None
    model_override: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The host's shape (unset fields omitted)."""
        return to_json(self)


@dataclass(frozen=True, slots=True)
class BeforePromptBuildResult:
    """``PluginHookBeforePromptBuildResult``: ``tools_allow`` can only narrow the tool offer."""

    tools_allow: tuple[str, ...] | None = None
    prepend_system_context: str | None = None
    append_system_context: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The host's shape (unset fields omitted)."""
        return to_json(self)


@dataclass(frozen=True, slots=True)
class BeforeToolCallResult:
    """``PluginHookBeforeToolCallResult``: ``block=True`` is terminal; the model gets the reason."""

    block: bool | None = None
    block_reason: str | None = None
    params: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The host's shape (unset fields omitted)."""
        return to_json(self)


HookResult = BeforeModelResolveResult | BeforePromptBuildResult | BeforeToolCallResult

#: Which host type each result mirrors (checked against the installed package by a test).
RESULT_TS_TYPES: Final[Mapping[type, str]] = MappingProxyType(
    {
        BeforeModelResolveResult: "PluginHookBeforeModelResolveResult",
        BeforePromptBuildResult: "PluginHookBeforePromptBuildResult",
        BeforeToolCallResult: "PluginHookBeforeToolCallResult",
    }
)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """``AgentToolResult``: text for the model plus structured details."""

    text: str
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_json(self) -> dict[str, Any]:
        """``{content: [{type: "text", text}], details}``."""
        return {"content": [{"type": "text", "text": self.text}], "details": dict(self.details)}


ToolExecute = Callable[[str, Mapping[str, Any]], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool for ``api.registerTool``; it must also be listed in the manifest's contracts."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    execute: ToolExecute
    label: str = ""


@dataclass(frozen=True, slots=True)
class CliCommand:
    """One ``openclaw <root> <path...>`` command and the argv it runs."""

    path: tuple[str, ...]
    description: str
    argv: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CliSpec:
    """``api.registerCli``: a root command with subcommands (``hasSubcommands: true``)."""

    name: str
    description: str
    commands: tuple[CliCommand, ...]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """``api.registerService``: started by the host only in full registration mode."""

    id: str
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]] | None = None
