"""Settings rules: deadlines against each other and the failover provider, and the local tier."""

from __future__ import annotations

import math
import re

from .._errors import Problem
from .._model import Tier
from ._jsonpath import join
from ._normalise import Normalised, local_entries
from ._view import dig


def _deadlines(n: Normalised) -> list[Problem]:
    d = n.settings.deadlines
    base = join(n.view.settings_path, "deadlines")
    out = []
    for key, value in (
        ("interactiveFirstTokenS", d.interactive_first_token_s),
        ("batchFirstTokenS", d.batch_first_token_s),
        ("localFirstTokenS", d.local_first_token_s),
        ("streamIdleS", d.stream_idle_s),
    ):
        if value > d.intent_budget_s:
            out.append(
                Problem(
                    "deadlines.contradiction",
                    join(base, key),
                    f"{key} {value:g} s beyond intentBudgetS {d.intent_budget_s:g} s",
                    f"at most intentBudgetS ({d.intent_budget_s:g} s)",
                    f"lower {key} or raise intentBudgetS",
                )
            )
    if d.interactive_first_token_s > d.batch_first_token_s:
        out.append(
            Problem(
                "deadlines.contradiction",
                join(base, "interactiveFirstTokenS"),
                f"interactive {d.interactive_first_token_s:g} s longer than batch "
                f"{d.batch_first_token_s:g} s",
                "interactiveFirstTokenS <= batchFirstTokenS",
                "swap or adjust the two values",
            )
        )
    return out


def _provider_timeout(n: Normalised) -> list[Problem]:
    timeout = dig(n.view.doc, "models", "providers", "failover", "timeoutSeconds")
    budget = n.settings.deadlines.intent_budget_s
    if not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout > budget:
        return []  # NaN/Infinity is number.non-finite's finding, not a comparison
    return [
        Problem(
            "deadlines.provider-timeout",
            "models.providers.failover.timeoutSeconds",
            f"timeoutSeconds {timeout:g} not above intentBudgetS {budget:g}",
            f"more than {budget:g} (OpenClaw would abort a request the proxy is still serving)",
            f"set timeoutSeconds to {int(budget) + 30} or lower deadlines.intentBudgetS",
        )
    ]


def _local_tier(n: Normalised) -> list[Problem]:
    out = []
    refs = {p.candidate.ref for p in n.placed} | {p.candidate.provider for p in n.placed}
    for i, entry in enumerate(local_entries(n.view.settings)):
        if entry not in refs:
            out.append(
                Problem(
                    "local.no-model",
                    join(n.view.settings_path, "tiers", "local", i),
                    f"local tier {entry!r} with no model in any chain",
                    f'a chain entry such as "{entry.split("/")[0]}/<model>"',
                    "add the local model to model.fallbacks, or remove it from tiers.local",
                )
            )
    return out


def _local_order(n: Normalised) -> list[Problem]:
    out = []
    seen_local: dict[str, str] = {}
    for placed in n.placed:
        if placed.candidate.tier is Tier.LOCAL:
            seen_local.setdefault(placed.route, placed.path)
        elif placed.route in seen_local:
            out.append(
                Problem(
                    "chain.local-order",
                    seen_local.pop(placed.route),
                    "a local-tier model before a cloud model",
                    "the local tier last (it is tried after every cloud candidate)",
                    "move the local model to the end of the chain",
                    severity="warning",
                )
            )
    return out


#: What state.namespace may not hold with backend "redis": ':' separates the namespace from its
#: Redis keys, so namespace "a" would see the keys of namespace "a:h". Other backends do not
#: use the namespace, so a config written before this rule still loads (and OpenClaw, which
#: validates the plugin block with the same schema, has no pattern to refuse it with).
_NAMESPACE_REFUSED = re.compile(r"[:\s*?\[\]]")


def _namespace(n: Normalised) -> list[Problem]:
    """Checked after ${VAR} substitution, for backend "redis" only."""
    namespace = n.settings.state.namespace
    refused = sorted(set(_NAMESPACE_REFUSED.findall(namespace)))
    if not refused or n.settings.state.backend != "redis":
        return []
    return [
        Problem(
            "state.namespace",
            join(n.view.settings_path, "state", "namespace"),
            f"the namespace {namespace[:80]!r}, which holds {' '.join(map(repr, refused))}",
            "a name without ':', whitespace or the glob characters * ? [ ] (':' separates the "
            'namespace from its Redis keys: namespace "a" would see the cooldowns of "a:h")',
            'use letters, digits, ".", "-" or "_", e.g. "openclaw-failover" or "gw-eu"',
        )
    ]


def _state(n: Normalised) -> list[Problem]:
    state = n.settings.state
    found = _namespace(n)
    if state.backend != "redis" or state.url is not None:
        return found
    return [
        Problem(
            "state.redis-url",
            join(n.view.settings_path, "state", "url"),
            'backend "redis" with no usable url (missing, or its ${VAR} is unset)',
            'a Redis URL, e.g. "${REDIS_URL}" with REDIS_URL=redis://127.0.0.1:6379/0',
            'set state.url, or use backend: "file"',
        ),
        *found,
    ]


def check(n: Normalised) -> None:
    """Deadlines, local-tier and state rules."""
    found = _deadlines(n) + _provider_timeout(n) + _local_tier(n) + _local_order(n) + _state(n)
    n.problems.extend(found)
