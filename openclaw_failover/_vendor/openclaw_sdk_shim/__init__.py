"""Typed Python mirror of OpenClaw's plugin SDK contract, pinned to OpenClaw 2026.9.6.

Hook names, the event/ctx payloads and results of the hooks this package uses, and the
``PluginApi`` protocol. Unknown payload fields are kept, not rejected. ``tests/test_shim_*``
checks every name and field here against the installed ``openclaw`` package's type declarations.
"""

from ._api import HookHandler, PluginApi, PluginLogger
from ._hooks import (
    CONVERSATION_HOOKS,
    DEFAULT_MODIFY_TIMEOUT_MS,
    FAIL_CLOSED_HOOKS,
    HOOK_NAMES,
    OPENCLAW_VERSION,
    REGISTRATION_MODES,
    HookName,
    RegistrationMode,
)
from ._payloads import (
    HOOK_PAYLOADS,
    TS_TYPES,
    AfterToolCallEvent,
    AgentContext,
    AgentEndEvent,
    BeforeModelResolveEvent,
    BeforePromptBuildEvent,
    BeforeToolCallEvent,
    ModelCallEndedEvent,
    ModelCallStartedEvent,
    ToolContext,
    camel,
    from_json,
    snake,
    to_json,
)
from ._results import (
    RESULT_TS_TYPES,
    BeforeModelResolveResult,
    BeforePromptBuildResult,
    BeforeToolCallResult,
    CliCommand,
    CliSpec,
    HookResult,
    ServiceSpec,
    ToolExecute,
    ToolResult,
    ToolSpec,
)

__all__ = [
    "CONVERSATION_HOOKS",
    "DEFAULT_MODIFY_TIMEOUT_MS",
    "FAIL_CLOSED_HOOKS",
    "HOOK_NAMES",
    "HOOK_PAYLOADS",
    "OPENCLAW_VERSION",
    "REGISTRATION_MODES",
    "RESULT_TS_TYPES",
    "TS_TYPES",
    "AfterToolCallEvent",
    "AgentContext",
    "AgentEndEvent",
    "BeforeModelResolveEvent",
    "BeforeModelResolveResult",
    "BeforePromptBuildEvent",
    "BeforePromptBuildResult",
    "BeforeToolCallEvent",
    "BeforeToolCallResult",
    "CliCommand",
    "CliSpec",
    "HookHandler",
    "HookName",
    "HookResult",
    "ModelCallEndedEvent",
    "ModelCallStartedEvent",
    "PluginApi",
    "PluginLogger",
    "RegistrationMode",
    "ServiceSpec",
    "ToolContext",
    "ToolExecute",
    "ToolResult",
    "ToolSpec",
    "camel",
    "from_json",
    "snake",
    "to_json",
]
