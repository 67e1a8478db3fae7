"""Pure install and uninstall plans: an OpenClaw config document in, the new document out.

No I/O here. The shell (``_install.py``) reads and writes files and runs OpenClaw's CLI.
Provider mode (the default) moves the chain into the plugin block and points OpenClaw at the
failover proxy; plugin mode leaves OpenClaw's chain alone and lets the bridge plugin steer.
A document of a shape the plan cannot work with is refused whole (:class:`PlanError`, every
finding with its JSON path) before anything is changed.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import FailoverError, Problem
from ._install_shape import (
    DEFAULT_INTENT_BUDGET_S,
    DEFAULT_PORT,
    PLUGIN_ID,
    block_problems,
    chain_of,
    lookup,
    port_problem,
    shape_problems,
    value_problems,
)
from ._install_shape import ENTRY as _ENTRY

PROVIDER_ID = "failover"
TOKEN_ENV = "OPENCLAW_FAILOVER_TOKEN"  # noqa: S105 - the variable's name, not a secret
ROUTED_PRIMARY = f"{PROVIDER_ID}/auto"

Doc = dict[str, Any]
Mode = Literal["provider", "plugin"]


@dataclass(frozen=True, slots=True)
class InstallOptions:
    """What the operator asked for."""

    mode: Mode = "provider"
    python: str = "python3"
    config_path: str = ""
    state_dir: str = ""
    bridge_dir: str = ""
    link_bridge_in_config: bool = True
    agents: tuple[str, ...] = ()  # agent ids to route through the proxy; ("all",) for every one
    port: int | None = None  # the proxy's port; None keeps proxy.port (default 8787)


@dataclass(frozen=True, slots=True)
class Plan:
    """The new document, what changed (for ``--dry-run``), and bookkeeping for uninstall."""

    doc: Doc
    notes: tuple[str, ...]
    bookkeeping: Doc = field(default_factory=dict)


class PlanError(FailoverError):
    """The document or the options cannot be planned on; ``problems`` has every finding."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.message for p in problems))


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise PlanError(tuple({p.path: p for p in problems}.values()))


def _dig(doc: Doc, *path: str) -> Doc:
    node = doc
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):  # only ever absent here: shape_problems refused others
            child = {}
            node[key] = child
        node = child
    return node


def _plugin_entry(doc: Doc) -> Doc:
    return _dig(doc, *_ENTRY)


def _has_own_chain(entry: Any) -> bool:
    model = entry.get("model") if isinstance(entry, dict) else None
    return isinstance(model, dict) and bool((chain_of(model) or {}).get("fallbacks"))


def agent_specs(doc: Doc) -> dict[str, Doc]:
    """Every configured agent by id: ``agents.entries`` first, then the legacy ``agents.list``."""
    found: dict[str, Doc] = {}
    agents = doc.get("agents")
    agents = agents if isinstance(agents, dict) else {}
    entries = agents.get("entries")
    if isinstance(entries, dict):
        found.update((str(k), v) for k, v in entries.items() if isinstance(v, dict))
    legacy = agents.get("list")
    if isinstance(legacy, list):
        for entry in legacy:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                found.setdefault(entry["id"], entry)
    return found


def agents_with_own_chains(doc: Doc) -> dict[str, Any]:
    """Per-agent models that carry their own fallbacks (they bypass the proxy by default)."""
    return {k: v["model"] for k, v in agent_specs(doc).items() if _has_own_chain(v)}


def _provider_entry(block: Doc, opts: InstallOptions) -> Doc:
    port = block.get("proxy", {}).get("port", DEFAULT_PORT)
    budget = block.get("deadlines", {}).get("intentBudgetS", DEFAULT_INTENT_BUDGET_S)
    base = f"http://127.0.0.1:{port}"
    routes = ["auto", *sorted(block.get("routes", {}) or {})]
    service: Doc = {
        "command": opts.python,
        "args": ["-m", "openclaw_failover", "serve", "--config", opts.config_path],
        "healthUrl": f"{base}/healthz",
        "readyTimeoutMs": 30000,
    }
    if opts.state_dir:
        service["env"] = {"OPENCLAW_STATE_DIR": opts.state_dir}
    return {
        "baseUrl": f"{base}/v1",
        "api": "openai-completions",
        "apiKey": "${" + TOKEN_ENV + "}",
        # Above the proxy's own intent budget, so OpenClaw never aborts a request we still run.
        "timeoutSeconds": math.ceil(budget) + 30,
        "localService": service,
        "models": [_route_model(name) for name in routes],
    }


def _route_model(name: str) -> Doc:
    return {
        "id": name,
        "name": f"Failover route {name}",
        "reasoning": False,
        "input": ["text"],
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
        "contextWindow": 128000,
        "maxTokens": 8192,
    }


def provider_wiring(doc: Doc) -> list[str]:
    """Where ``doc`` still sends OpenClaw through the proxy (a provider-mode install)."""
    found: list[str] = []
    defaults = lookup(doc, ("agents", "defaults", "model"))[1]
    if (chain_of(defaults) or {}).get("primary") == ROUTED_PRIMARY:
        found.append(f"agents.defaults.model is {ROUTED_PRIMARY}")
    providers = lookup(doc, ("models", "providers"))[1]
    if isinstance(providers, dict) and PROVIDER_ID in providers:
        found.append(f"models.providers.{PROVIDER_ID} is set")
    for agent_id, spec in sorted(agent_specs(doc).items()):
        primary = (chain_of(spec.get("model")) or {}).get("primary", "")
        if primary.startswith(f"{PROVIDER_ID}/"):
            found.append(f"agent {agent_id!r} uses {primary}")
    return found


def _agent_option_problems(doc: Doc, opts: InstallOptions) -> list[Problem]:
    known = agent_specs(doc)
    unknown = [a for a in opts.agents if a != "all" and a not in known]
    if not unknown:
        return []
    return [
        Problem(
            "install.agents",
            "--agents",
            "no agent " + ", ".join(repr(a) for a in unknown),
            "all, or ids from agents.entries / agents.list: "
            + (", ".join(sorted(known)) or "(none are configured)"),
            "check the spelling, or leave the agent out",
        )
    ]


def _mode_problems(doc: Doc, opts: InstallOptions) -> list[Problem]:
    wiring = provider_wiring(doc) if opts.mode == "plugin" else []
    if not wiring:
        return []
    return [
        Problem(
            "install.mode",
            "--mode",
            "plugin, but this config is wired in provider mode (" + "; ".join(wiring) + ")",
            "a config where OpenClaw calls its own chain: plugin mode keeps OpenClaw's chain",
            "run `openclaw-failover uninstall` first (it puts the chain back and keeps the "
            "plugin settings), then `openclaw-failover install --mode plugin`",
        )
    ]


def _no_chain(model: Any) -> Problem:
    if model is None:
        found = "nothing (unset)"
    elif chain_of(model):  # failover/auto, with the plugin block's model removed
        found = f"{ROUTED_PRIMARY}, and no model in the plugin block"
    else:
        found = "an object without primary"
    return Problem(
        "install.no-chain",
        "agents.defaults.model",
        found,
        "the model chain provider mode moves into the plugin block "
        f"(agents.defaults.model becomes {ROUTED_PRIMARY})",
        'set agents.defaults.model (e.g. {primary: "anthropic/claude-opus-4-6", fallbacks: '
        f'[...]}}) or plugins.entries["{PLUGIN_ID}"].config.model, then install again',
    )


def plan_install(original: Doc, opts: InstallOptions, *, saved_settings: Doc | None = None) -> Plan:
    """Return the installed document. Idempotent: installing twice equals installing once.

    Raises :class:`PlanError` (nothing planned) on a document of the wrong shape, a bad
    ``--port`` or ``--agents``, plugin mode over a provider-mode install, or provider mode
    with no chain to move or a port or budget it cannot write.
    """
    port = port_problem(opts.port)
    _raise_if([*([port] if port else []), *shape_problems(original)])
    _raise_if([*_agent_option_problems(original, opts), *_mode_problems(original, opts)])
    doc = copy.deepcopy(original)
    notes: list[str] = []
    entry = _plugin_entry(doc)
    entry["enabled"] = True
    block = entry.setdefault("config", {})
    if saved_settings and not block:
        block.update(copy.deepcopy(saved_settings))
        notes.append("restored the plugin settings kept by the last uninstall")
        _raise_if(block_problems(block))
    defaults = _dig(doc, "agents", "defaults")
    _move_chain(block, defaults, notes)
    block["mode"] = opts.mode
    # OpenClaw starts the sidecar and the CLI bridge without this package's virtualenv on PATH.
    block.setdefault("sidecar", {}).setdefault(
        "command", [opts.python, "-m", "openclaw_failover", "sidecar"]
    )
    if opts.port is not None:
        block.setdefault("proxy", {})["port"] = opts.port
    bookkeeping: Doc = {"mode": opts.mode}
    if opts.mode == "provider":
        problems = value_problems(block, port=opts.port)
        if "model" not in block:  # OpenClaw would call failover/auto, with nothing behind it
            problems.insert(0, _no_chain(defaults.get("model")))
        _raise_if(problems)
        _wire_provider(doc, block, defaults=defaults, opts=opts, notes=notes, book=bookkeeping)
    else:
        entry.setdefault("hooks", {})["allowConversationAccess"] = True
        notes.append("plugin mode: OpenClaw keeps its chain; the bridge steers it")
        if opts.agents:
            notes.append("--agents has no effect in plugin mode (the bridge steers every agent)")
    if opts.link_bridge_in_config and opts.bridge_dir:
        paths = _dig(doc, "plugins", "load").setdefault("paths", [])
        if opts.bridge_dir not in paths:
            paths.append(opts.bridge_dir)
    return Plan(doc=doc, notes=tuple(notes), bookkeeping=bookkeeping)


def _move_chain(block: Doc, defaults: Doc, notes: list[str]) -> None:
    """Copy ``agents.defaults.model`` into the block, unless it has a chain or is routed."""
    current = chain_of(defaults.get("model"))
    if "model" not in block and current and current["primary"] != ROUTED_PRIMARY:
        block["model"] = current
        notes.append(
            f"chain moved into the plugin block: {current['primary']} + "
            f"{len(current['fallbacks'])} fallback(s)"
        )
    if "model" not in block:
        notes.append(
            "no chain found in agents.defaults.model: set plugins.entries"
            f'["{PLUGIN_ID}"].config.model before serving'
        )


def _wire_provider(
    doc: Doc, block: Doc, *, defaults: Doc, opts: InstallOptions, notes: list[str], book: Doc
) -> None:
    block.setdefault("proxy", {}).setdefault("token", "${" + TOKEN_ENV + "}")
    providers = _dig(doc, "models", "providers")
    providers[PROVIDER_ID] = _provider_entry(block, opts)
    if chain_of(defaults.get("model")) != {"primary": ROUTED_PRIMARY, "fallbacks": []}:
        book["defaults_model"] = copy.deepcopy(defaults.get("model"))
    defaults["model"] = {"primary": ROUTED_PRIMARY, "fallbacks": []}
    own = agents_with_own_chains(doc)
    chosen = set(own) if "all" in opts.agents else set(opts.agents) & set(own)
    for agent_id in sorted(own):
        if agent_id not in chosen:
            notes.append(
                f"agent {agent_id!r} has its own chain and bypasses the proxy "
                "(route it with --agents)"
            )
    for agent_id in sorted(set(opts.agents) - set(own) - {"all"}):
        notes.append(
            f"agent {agent_id!r} has no fallbacks of its own: it follows agents.defaults.model "
            "(the proxy), or keeps its strict model; left as it is"
        )
    routed = _route_agents(doc, block, chosen)
    if routed:
        book["agents"] = routed
        providers[PROVIDER_ID]["models"] = [
            _route_model(n) for n in ["auto", *sorted(block.get("routes", {}))]
        ]


def _route_agents(doc: Doc, block: Doc, chosen: set[str]) -> Doc:
    routed: Doc = {}
    specs = agent_specs(doc)
    for agent_id in sorted(chosen):
        entry = specs.get(agent_id)
        if entry is None:
            continue
        route = f"agent-{agent_id}"
        routed[agent_id] = copy.deepcopy(entry["model"])
        block.setdefault("routes", {})[route] = chain_of(entry["model"])
        entry["model"] = {"primary": f"{PROVIDER_ID}/{route}", "fallbacks": []}
    return routed


def plan_uninstall(installed: Doc, bookkeeping: Doc, *, bridge_dir: str = "") -> Plan:
    """Undo :func:`plan_install`. The plugin block's settings are returned for safe keeping.

    ``bookkeeping["settings"]`` is None when the document holds no plugin entry: there is
    nothing to keep, and settings kept by an earlier uninstall must not be overwritten.
    """
    # Only what uninstall reads: a bad port or deadline must not stand in the way of removal.
    _raise_if(shape_problems(installed, block_keys=("routes",)))
    doc = copy.deepcopy(installed)
    notes: list[str] = []
    entries = doc.get("plugins", {}).get("entries", {})
    entry = entries.pop(PLUGIN_ID, None)
    block = entry.get("config", {}) if isinstance(entry, dict) else {}
    doc.get("models", {}).get("providers", {}).pop(PROVIDER_ID, None)
    defaults = doc.get("agents", {}).get("defaults", {})
    chain = chain_of(block.get("model"))
    if chain_of(defaults.get("model")) == {"primary": ROUTED_PRIMARY, "fallbacks": []}:
        original = bookkeeping.get("defaults_model")
        defaults["model"] = original if chain_of(original) == chain or chain is None else chain
        notes.append("chain restored into agents.defaults.model")
    _restore_agents(doc, block, bookkeeping.get("agents", {}))
    paths = doc.get("plugins", {}).get("load", {}).get("paths")
    if isinstance(paths, list) and bridge_dir in paths:
        paths.remove(bridge_dir)
    doc.get("plugins", {}).get("installs", {}).pop(PLUGIN_ID, None)
    settings = block if isinstance(entry, dict) else None
    return Plan(doc=doc, notes=tuple(notes), bookkeeping={"settings": settings})


def _restore_agents(doc: Doc, block: Doc, originals: Doc) -> None:
    specs = agent_specs(doc)
    routes = block.get("routes", {})
    for agent_id, original in originals.items():
        entry = specs.get(agent_id)
        if entry is None:
            continue
        current = chain_of(routes.get(f"agent-{agent_id}"))
        entry["model"] = original if current in (None, chain_of(original)) else current


def prune_created(doc: Doc, original: Doc) -> Doc:
    """Drop empty objects and lists that the original document did not have."""
    for key in list(doc):
        value = doc[key]
        before = original.get(key) if isinstance(original, dict) else None
        if isinstance(value, dict):
            prune_created(value, before if isinstance(before, dict) else {})
        if value in ({}, []) and key not in (original or {}):
            del doc[key]
    return doc
