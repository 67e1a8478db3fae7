"""Rules beyond the schema, run over the normalised parts; each finding has a stable rule id."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import (
    _rules_agents,
    _rules_bounds,
    _rules_chain,
    _rules_files,
    _rules_providers,
    _rules_settings,
    _rules_tools,
)
from ._normalise import Normalised

#: Every rule id the loader can report (``schema.<keyword>`` aside), with what it means.
RULE_IDS: Mapping[str, str] = MappingProxyType(
    {
        "file.missing": "the config (or an included file) does not exist",
        "file.unreadable": "the file exists but cannot be read: a folder, no permission, not UTF-8",
        "file.parse": "not valid JSON5",
        "file.not-object": "the root is not an object",
        "file.too-large": "a file over 2 MB",
        "file.duplicate-key": "a key given twice in one object; the last one is used (warning)",
        "file.too-deep": "objects and lists nested more than 64 levels (with includes)",
        "include.invalid": "$include is not a file name or a list of them",
        "include.depth": "more than 10 nested includes (or a cycle)",
        "include.outside-root": "an include leaves the config's folder",
        "number.non-finite": "NaN or Infinity where a number is due (JSON5 allows them)",
        "env.unset": "${VAR} with VAR unset or empty (stays literal)",
        "env.lowercase": "${name} with a lower-case letter (never substituted: stays literal)",
        "chain.missing": "no model chain",
        "chain.no-primary": "a chain without primary",
        "chain.invalid": 'a chain entry that is not "provider/model" or an alias',
        "chain.fallback-gap": "fallbackN without fallbackN-1",
        "chain.fallback-slot": "fallback0, fallback01, or fallback and fallback1 both given",
        "chain.mixed-fallbacks": "fallbacks[] and fallback/fallbackN both given",
        "chain.drift": "a chain entry whose provider or model is not defined",
        "chain.duplicate": "the same candidate twice in one chain",
        "chain.banned": "a chain entry listed in bannedModels",
        "chain.capability-downgrade": "a fallback with a smaller window or no tools (warning)",
        "chain.local-order": "a local-tier model before a cloud one (warning)",
        "chain.self-loop": "a candidate that is the failover proxy itself",
        "auth.duplicate-profile": "two keys with one profile id in a provider",
        "auth.no-usable-key": "a cloud provider with no key the proxy can send",
        "auth.unresolved-reference": "a profile id or SecretRef that cannot be resolved (warning)",
        "secret.plaintext": "a key written inline (warning)",
        "provider.no-base-url": "a provider with no baseUrl outside the catalog",
        "provider.unknown-api": "an api OpenClaw does not know",
        "provider.unsupported-api": "an api the proxy cannot speak, on the provider path",
        "provider.conflict": "baseUrl/api differing between the plugin block and models.providers",
        "local.remote-url": "a local-tier baseUrl off this machine",
        "local.no-model": "a tiers.local entry no chain uses",
        "ollama.v1-path": "an Ollama baseUrl ending in /v1 (warning: breaks tool calls)",
        "deadlines.contradiction": "deadlines that contradict each other",
        "settings.implausible": "a duration or count far past any sane use (warning: a typo?)",
        "deadlines.provider-timeout": "intentBudgetS not below the failover provider's timeout",
        "openclaw.root-providers": "root providers in OpenClaw's own file (it refuses to start)",
        "openclaw.fallback-keys": "fallback/fallbackN in OpenClaw's own file (it refuses to start)",
        "standalone.duplicate-key": "model/providers both at the root and under failover",
        "state.redis-url": 'backend "redis" with no usable url',
        "state.namespace": "a state.namespace with ':', whitespace or * ? [ ]",
        "state.redis-missing": 'backend "redis" without the redis client (warning)',
        "state.salt-unavailable": "the state folder is not writable (warning)",
        "tools.invalid-name": "a tools list entry no tool name can match: a wildcard, '.', ':'...",
        "tools.unknown-group": "a tools list group that is not one of OpenClaw's core groups",
    }
)


def check_rules(n: Normalised) -> None:
    """Append every rule's findings to ``n.problems``."""
    _rules_files.check(n)
    _rules_chain.check(n)
    _rules_agents.check(n)
    _rules_providers.check(n)
    _rules_settings.check(n)
    _rules_bounds.check(n)
    _rules_tools.check(n)
