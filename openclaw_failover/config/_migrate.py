"""``migrate``: move what OpenClaw refuses (root ``providers``, ``fallbackN``) to the plugin block.

Pure: a document in, a new document and the list of moves out. The chain written with
``fallback/fallbackN`` goes to the plugin block as written (the articles' shape is at home there),
and OpenClaw's own ``agents.defaults.model`` gets the same chain as ``{primary, fallbacks[]}``,
the only form OpenClaw accepts, so OpenClaw keeps its own chain too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ._chain import fallback_index
from ._jsonpath import join
from ._source import deep_merge
from ._view import PLUGIN_BLOCK_PATH, PLUGIN_ID


@dataclass(frozen=True, slots=True)
class Migration:
    """The migrated document and one line per move (JSON path from -> to)."""

    document: dict[str, Any]
    moves: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Whether anything moved."""
        return bool(self.moves)


def _plugin_block(doc: dict[str, Any]) -> dict[str, Any]:
    entries = doc.setdefault("plugins", {}).setdefault("entries", {})
    entry = entries.setdefault(PLUGIN_ID, {"enabled": True})
    block: dict[str, Any] = entry.setdefault("config", {})
    return block


def as_fallbacks(model: dict[str, Any]) -> dict[str, Any]:
    """``{primary, fallback, fallback2, ...}`` as ``{primary, fallbacks[]}`` in numeric order."""
    numbered = sorted((i, k) for k in model if (i := fallback_index(k)) is not None)
    out = {k: v for k, v in model.items() if fallback_index(k) is None}
    written = out.get("fallbacks")
    if written is None:
        head: list[Any] = []
    else:  # one ref written as a string stays one ref (never a list of its characters)
        head = list(written) if isinstance(written, list) else [written]
    out["fallbacks"] = head + [model[k] for _, k in numbered]
    return out


def _has_numbered(model: Any) -> bool:
    return isinstance(model, dict) and any(fallback_index(k) is not None for k in model)


def _move_defaults_chain(doc: dict[str, Any], moves: list[str]) -> None:
    defaults = doc.get("agents", {}).get("defaults", {})
    model = defaults.get("model")
    if not _has_numbered(model):
        return
    block = _plugin_block(doc)
    if "model" not in block:
        block["model"] = copy.deepcopy(model)
        moves.append(f"agents.defaults.model -> {PLUGIN_BLOCK_PATH}.model")
    defaults["model"] = as_fallbacks(model)
    moves.append("agents.defaults.model.fallbackN -> agents.defaults.model.fallbacks[]")


def _fix_agent_chains(doc: dict[str, Any], moves: list[str]) -> None:
    agents = doc.get("agents", {})
    entries = agents.get("entries")
    spots: list[tuple[dict[str, Any], str]] = []
    if isinstance(entries, dict):
        spots += [(v, join("agents.entries", k)) for k, v in entries.items() if isinstance(v, dict)]
    listed = agents.get("list")
    if isinstance(listed, list):
        spots += [(v, join("agents.list", i)) for i, v in enumerate(listed) if isinstance(v, dict)]
    for agent, path in spots:
        if _has_numbered(agent.get("model")):
            agent["model"] = as_fallbacks(agent["model"])
            moves.append(f"{path}.model.fallbackN -> {path}.model.fallbacks[]")


def plan_migration(doc: dict[str, Any]) -> Migration:
    """The OpenClaw-valid document, with root ``providers`` and ``fallbackN`` moved."""
    new = copy.deepcopy(doc)
    moves: list[str] = []
    if "providers" in new:
        root = new.pop("providers")
        block = _plugin_block(new)
        block["providers"] = deep_merge(root, block.get("providers", {}))
        moves.append(f"providers -> {PLUGIN_BLOCK_PATH}.providers")
    _move_defaults_chain(new, moves)
    _fix_agent_chains(new, moves)
    return Migration(new, tuple(moves))
