"""Hook names and their host rules, as OpenClaw 2026.9.6 declares them.

Source: ``PluginHookName`` in the package's ``dist/hook-runner-global-*.d.ts`` (from
``src/plugins/hook-types.ts``) and ``docs/plugins/hooks/reference.md``. A test reads the
installed package and fails when this list drifts.
"""

from __future__ import annotations

from typing import Final, Literal

#: The OpenClaw release this mirror was written against.
OPENCLAW_VERSION: Final = "2026.9.6"

#: Every typed hook name the host knows, in the host's declaration order.
HOOK_NAMES: Final[tuple[str, ...]] = (
    "before_model_resolve",
    "agent_turn_prepare",
    "before_prompt_build",
    "before_agent_reply",
    "model_call_started",
    "model_call_ended",
    "llm_input",
    "llm_output",
    "before_agent_finalize",
    "agent_end",
    "before_compaction",
    "after_compaction",
    "before_reset",
    "inbound_claim",
    "channel_pairing_requested",
    "message_received",
    "message_sending",
    "reply_payload_sending",
    "message_sent",
    "before_tool_call",
    "after_tool_call",
    "tool_result_persist",
    "before_message_write",
    "session_start",
    "session_end",
    "subagent_delivery_target",
    "subagent_spawned",
    "subagent_progress",
    "subagent_ended",
    "gateway_start",
    "gateway_stop",
    "heartbeat_prompt_contribution",
    "cron_reconciled",
    "cron_changed",
    "skill_proposal_evaluate",
    "skill_proposal_changed",
    "skill_changed",
    "before_dispatch",
    "reply_dispatch",
    "before_install",
    "before_agent_run",
    "resolve_exec_env",
)

#: The hooks this package uses (typed payloads below exist for these).
HookName = Literal[
    "before_model_resolve",
    "before_prompt_build",
    "model_call_started",
    "model_call_ended",
    "before_tool_call",
    "after_tool_call",
    "agent_end",
]

#: Hooks a non-bundled plugin may register only with
#: ``plugins.entries.<id>.hooks.allowConversationAccess: true`` (docs/gateway/config-extensions.md).
CONVERSATION_HOOKS: Final = frozenset(
    {
        "before_model_resolve",
        "agent_turn_prepare",
        "before_prompt_build",
        "before_agent_reply",
        "llm_input",
        "llm_output",
        "before_agent_finalize",
        "agent_end",
        "before_agent_run",
    }
)

#: Hooks whose throw or timeout blocks (docs/plugins/hooks/reference.md: "Fail closed").
FAIL_CLOSED_HOOKS: Final = frozenset({"before_agent_run", "before_tool_call", "before_install"})

#: The host's default timeout for modifying and gate hooks, in milliseconds.
DEFAULT_MODIFY_TIMEOUT_MS: Final = 15_000

#: ``api.registrationMode``: only ``full`` may start processes or services.
RegistrationMode = Literal[
    "full", "discovery", "tool-discovery", "setup-only", "setup-runtime", "cli-metadata"
]
REGISTRATION_MODES: Final[tuple[str, ...]] = (
    "full",
    "discovery",
    "tool-discovery",
    "setup-only",
    "setup-runtime",
    "cli-metadata",
)
