"""The shapes install and uninstall read, checked before a plan runs: every value of the
wrong shape is a finding with its JSON path, what was found and what was expected, so a
document the plans cannot work with is refused whole instead of half-changed or crashing."""

from __future__ import annotations

import json
import math
from typing import Any

from ._errors import Problem
from .config._chain import fallback_index
from .config._finite import non_finite_name
from .config._jsonpath import join

PLUGIN_ID = "openclaw-failover"
DEFAULT_INTENT_BUDGET_S = 150
DEFAULT_PORT = 8787
MAX_PORT = 65535

Doc = dict[str, Any]

ENTRY = ("plugins", "entries", PLUGIN_ID)
BLOCK = (*ENTRY, "config")
_BLOCK_PATH = join("", *BLOCK)
# Every object install or uninstall reads or writes into; each one's parents come first.
_OBJECTS = (
    ("agents",),
    ("agents", "defaults"),
    ("agents", "entries"),
    ("models",),
    ("models", "providers"),
    ("plugins",),
    ("plugins", "entries"),
    ENTRY,
    BLOCK,
    (*ENTRY, "hooks"),
    ("plugins", "load"),
    ("plugins", "installs"),
)
_BLOCK_OBJECTS = ("proxy", "deadlines", "routes", "sidecar")
_CHAIN = 'a "provider/model" string, or an object {primary: "provider/model", fallbacks: [...]}'


def describe(value: Any) -> str:
    """A short, operator-facing name for a found value (long strings are not echoed)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        return non_finite_name(value)
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    return "an object" if isinstance(value, dict) else f"a {type(value).__name__}"


def _shape(path: str, value: Any, expected: str, fix: str = "") -> Problem:
    return Problem("install.shape", path, describe(value), expected, fix)


def chain_of(model: Any) -> dict[str, Any] | None:
    """A model (string or object) as ``{primary, fallbacks}``; None if unset.

    ``fallback, fallback2, …`` (the plugin block's other spelling) count as fallbacks, in order.
    """
    if isinstance(model, str) and model:
        return {"primary": model, "fallbacks": []}
    if isinstance(model, dict) and isinstance(model.get("primary"), str):
        fallbacks = list(model.get("fallbacks", []))
        numbered = sorted((i, k) for k in model if (i := fallback_index(str(k))) is not None)
        fallbacks += [model[k] for _, k in numbered]
        return {"primary": model["primary"], "fallbacks": fallbacks}
    return None


def _chain_problems(path: str, model: Any) -> list[Problem]:
    if isinstance(model, str) and model:
        return []
    if not isinstance(model, dict):
        return [_shape(path, model, _CHAIN)]
    found: list[Problem] = []
    if "primary" in model and not (isinstance(model["primary"], str) and model["primary"]):
        found.append(_shape(join(path, "primary"), model["primary"], 'a "provider/model" string'))
    fallbacks = model.get("fallbacks", [])
    if not isinstance(fallbacks, list) or not all(isinstance(f, str) for f in fallbacks):
        found.append(_shape(join(path, "fallbacks"), fallbacks, 'a list of "provider/model"'))
    for key, value in model.items():
        if fallback_index(str(key)) is not None and not isinstance(value, str):
            found.append(_shape(join(path, key), value, 'a "provider/model" string'))
    return found


def lookup(doc: Doc, parts: tuple[str, ...]) -> tuple[bool, Any]:
    """(present, value) at ``parts``; not present when a parent is missing or not an object."""
    node: Any = doc
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _agent_problems(doc: Doc) -> list[Problem]:
    found: list[Problem] = []
    entries = lookup(doc, ("agents", "entries"))[1]
    for agent_id, entry in entries.items() if isinstance(entries, dict) else ():
        path = join("agents.entries", str(agent_id))
        if not isinstance(entry, dict):
            found.append(_shape(path, entry, "an object"))
        elif "model" in entry:
            found += _chain_problems(join(path, "model"), entry["model"])
    present, listed = lookup(doc, ("agents", "list"))
    if present and not isinstance(listed, list):
        found.append(_shape("agents.list", listed, "a list of agents"))
    for i, entry in enumerate(listed) if isinstance(listed, list) else ():
        if isinstance(entry, dict) and "model" in entry:
            found += _chain_problems(join("agents.list", i, "model"), entry["model"])
    return found


def shape_problems(doc: Doc, *, block_keys: tuple[str, ...] = _BLOCK_OBJECTS) -> list[Problem]:
    """Every value install or uninstall reads that has the wrong shape (JSON path, found,
    expected). An empty list means the plans can run on ``doc`` without guessing."""
    found: list[Problem] = []
    for parts in _OBJECTS:
        present, value = lookup(doc, parts)
        if present and not isinstance(value, dict):
            found.append(_shape(join("", *parts), value, "an object"))
    present, model = lookup(doc, ("agents", "defaults", "model"))
    if present:
        found += _chain_problems("agents.defaults.model", model)
    present, workspace = lookup(doc, ("agents", "defaults", "workspace"))
    if present and not (isinstance(workspace, str) and workspace):
        found.append(_shape("agents.defaults.workspace", workspace, "a folder path"))
    present, paths = lookup(doc, ("plugins", "load", "paths"))
    if present and not isinstance(paths, list):
        found.append(_shape("plugins.load.paths", paths, "a list of folder paths"))
    present, block = lookup(doc, BLOCK)
    if present and isinstance(block, dict):
        found += block_problems(block, keys=block_keys)
    return found + _agent_problems(doc)


def block_problems(block: Doc, *, keys: tuple[str, ...] = _BLOCK_OBJECTS) -> list[Problem]:
    """Wrong shapes among the plugin block's keys that install (or uninstall) reads."""
    found = [
        _shape(join(_BLOCK_PATH, key), block[key], "an object")
        for key in keys
        if key in block and not isinstance(block[key], dict)
    ]
    if "model" in block:
        found += _chain_problems(join(_BLOCK_PATH, "model"), block["model"])
    return found


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PORT


def value_problems(block: Doc, *, port: int | None) -> list[Problem]:
    """The values provider mode writes into ``models.providers.failover``: port and budget."""
    found: list[Problem] = []
    proxy = block.get("proxy", {})
    if port is None and "port" in proxy and not _is_port(proxy["port"]):
        found.append(
            _shape(
                join(_BLOCK_PATH, "proxy", "port"),
                proxy["port"],
                f"a port number from 1 to {MAX_PORT} (install writes it into "
                "models.providers.failover.baseUrl)",
                "write the number itself, or pass --port",
            )
        )
    budget = block.get("deadlines", {}).get("intentBudgetS", DEFAULT_INTENT_BUDGET_S)
    if (
        isinstance(budget, bool)
        or not isinstance(budget, int | float)
        or not (math.isfinite(budget) and budget > 0)
    ):
        found.append(
            _shape(
                join(_BLOCK_PATH, "deadlines", "intentBudgetS"),
                budget,
                "a number of seconds above 0 (install sets models.providers.failover"
                ".timeoutSeconds 30 s above it)",
                f"write a number such as {DEFAULT_INTENT_BUDGET_S}",
            )
        )
    return found


def port_problem(port: int | None) -> Problem | None:
    """``--port`` outside 1..65535 (0 would write ``baseUrl: http://127.0.0.1:0/v1``)."""
    if port is None or _is_port(port):
        return None
    return Problem(
        "install.port",
        "--port",
        str(port),
        f"a port number from 1 to {MAX_PORT}",
        f"pick a free loopback port, e.g. --port {DEFAULT_PORT}",
    )
