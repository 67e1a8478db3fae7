"""File-shape rules: what OpenClaw's own file must not hold, and double definitions."""

from __future__ import annotations

from typing import Any

from .._errors import Problem
from ._chain import fallback_index
from ._jsonpath import join
from ._normalise import Normalised
from ._view import PLUGIN_BLOCK_PATH, dig

_REFUSES = "OpenClaw 2026.9.6 refuses to start on this unknown key"


def _fallback_keys(model: Any, path: str) -> list[Problem]:
    if not isinstance(model, dict):
        return []
    run = "run `openclaw-failover migrate --write` to"
    if path == "agents.defaults.model":
        fix = f"{run} move the chain to {PLUGIN_BLOCK_PATH}.model"
    else:  # migrate rewrites a per-agent chain where it is
        fix = f"{run} rewrite it as {path}.fallbacks: [...]"
    return [
        Problem(
            "openclaw.fallback-keys",
            join(path, key),
            f"{key} in OpenClaw's own file ({_REFUSES})",
            "fallbacks: [...] here, or fallback/fallbackN in the plugin block",
            fix,
        )
        for key in model
        if fallback_index(key) is not None
    ]


def _agent_models(doc: dict[str, Any]) -> list[tuple[Any, str]]:
    found = [(dig(doc, "agents", "defaults", "model"), "agents.defaults.model")]
    entries = dig(doc, "agents", "entries")
    if isinstance(entries, dict):
        found += [
            (dig(spec, "model"), join("agents.entries", aid, "model"))
            for aid, spec in entries.items()
        ]
    listed = dig(doc, "agents", "list")
    if isinstance(listed, list):
        found += [
            (dig(spec, "model"), join("agents.list", i, "model")) for i, spec in enumerate(listed)
        ]
    return found


def _openclaw(n: Normalised) -> list[Problem]:
    doc = n.raw_view.doc
    out = []
    if "providers" in doc:
        out.append(
            Problem(
                "openclaw.root-providers",
                "providers",
                f"root providers in OpenClaw's own file ({_REFUSES})",
                f"providers under {PLUGIN_BLOCK_PATH}.providers "
                "(URLs and apiKey in models.providers)",
                "run `openclaw-failover migrate --write` to move it into the plugin block",
            )
        )
    for model, path in _agent_models(doc):
        out += _fallback_keys(model, path)
    return out


def _standalone(n: Normalised) -> list[Problem]:
    doc = n.raw_view.doc
    block = doc.get("failover")
    if not isinstance(block, dict):
        return []
    out = []
    pairs = (
        ("model", dig(doc, "agents", "defaults", "model"), "agents.defaults.model"),
        ("providers", doc.get("providers"), "providers"),
    )
    for key, root_value, root_path in pairs:
        if key in block and root_value is not None:
            out.append(
                Problem(
                    "standalone.duplicate-key",
                    join("failover", key),
                    f"{key} both here and at {root_path}",
                    "one of the two places",
                    f"keep {root_path} and remove failover.{key}",
                )
            )
    return out


def check(n: Normalised) -> None:
    """Rules that depend on which kind of file this is."""
    n.problems.extend(_openclaw(n) if n.view.kind == "openclaw" else _standalone(n))
