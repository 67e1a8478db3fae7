"""Pure install and uninstall plans: an OpenClaw config document in, the new document out.

No I/O here. The shell (``_install.py``) reads and writes files and runs OpenClaw's CLI.
Provider mode (the default) moves the chain into the plugin block and points OpenClaw at the
failover proxy; plugin mode leaves OpenClaw's chain alone and lets the bridge plugin steer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

PLUGIN_ID = "openclaw-failover"
PROVIDER_ID = "failover"
TOKEN_ENV = "OPENCLAW_FAILOVER_TOKEN"  # noqa: S105 - the variable's name, not a secret
ROUTED_PRIMARY = f"{PROVIDER_ID}/auto"
DEFAULT_INTENT_BUDGET_S = 150
DEFAULT_PORT = 8787

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


def chain_of(model: Any) -> dict[str, Any] | None:
    """``agents.defaults.model`` (string or object) as ``{primary, fallbacks}``; None if unset."""
    if isinstance(model, str) and model:
        return {"primary": model, "fallbacks": []}
    if isinstance(model, dict) and isinstance(model.get("primary"), str):
        fallbacks = model.get("fallbacks", [])
        return {"primary": model["primary"], "fallbacks": list(fallbacks)}
    return None


def _dig(doc: Doc, *path: str) -> Doc:
    node = doc
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    return node


def _plugin_entry(doc: Doc) -> Doc:
    return _dig(doc, "plugins", "entries", PLUGIN_ID)


def _has_own_chain(entry: Any) -> bool:
    model = entry.get("model") if isinstance(entry, dict) else None
    return isinstance(model, dict) and bool(model.get("fallbacks"))


def agents_with_own_chains(doc: Doc) -> dict[str, Any]:
    """Per-agent models that carry their own fallbacks (they bypass the proxy by default)."""
    found: dict[str, Any] = {}
    entries = doc.get("agents", {}).get("entries", {})
    if isinstance(entries, dict):
        for agent_id, entry in entries.items():
            if _has_own_chain(entry):
                found[str(agent_id)] = entry["model"]
    legacy = doc.get("agents", {}).get("list", [])
    if isinstance(legacy, list):
        for entry in legacy:
            if _has_own_chain(entry) and isinstance(entry.get("id"), str):
                found[entry["id"]] = entry["model"]
    return found


def _provider_entry(block: Doc, opts: InstallOptions) -> Doc:
    proxy = block.get("proxy", {}) if isinstance(block.get("proxy"), dict) else {}
    port = int(proxy.get("port", DEFAULT_PORT))
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
        "timeoutSeconds": int(budget) + 30,
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


def plan_install(original: Doc, opts: InstallOptions, *, saved_settings: Doc | None = None) -> Plan:
    """Return the installed document. Idempotent: installing twice equals installing once."""
    doc = copy.deepcopy(original)
    notes: list[str] = []
    entry = _plugin_entry(doc)
    entry["enabled"] = True
    block = entry.setdefault("config", {})
    if saved_settings and not block:
        block.update(copy.deepcopy(saved_settings))
        notes.append("restored the plugin settings kept by the last uninstall")
    defaults = _dig(doc, "agents", "defaults")
    current = chain_of(defaults.get("model"))
    bookkeeping: Doc = {"mode": opts.mode}
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
    block["mode"] = opts.mode
    # OpenClaw starts the sidecar and the CLI bridge without this package's virtualenv on PATH.
    block.setdefault("sidecar", {}).setdefault(
        "command", [opts.python, "-m", "openclaw_failover", "sidecar"]
    )
    if opts.port is not None:
        block.setdefault("proxy", {})["port"] = opts.port
    if opts.mode == "provider":
        _wire_provider(doc, block, defaults=defaults, opts=opts, notes=notes, book=bookkeeping)
    else:
        entry.setdefault("hooks", {})["allowConversationAccess"] = True
        notes.append("plugin mode: OpenClaw keeps its chain; the bridge steers it")
    if opts.link_bridge_in_config and opts.bridge_dir:
        paths = _dig(doc, "plugins", "load").setdefault("paths", [])
        if opts.bridge_dir not in paths:
            paths.append(opts.bridge_dir)
    return Plan(doc=doc, notes=tuple(notes), bookkeeping=bookkeeping)


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
    routed = _route_agents(doc, block, chosen)
    if routed:
        book["agents"] = routed
        providers[PROVIDER_ID]["models"] = [
            _route_model(n) for n in ["auto", *sorted(block.get("routes", {}))]
        ]


def _route_agents(doc: Doc, block: Doc, chosen: set[str]) -> Doc:
    routed: Doc = {}
    entries = doc.get("agents", {}).get("entries", {})
    for agent_id in sorted(chosen):
        entry = entries.get(agent_id) if isinstance(entries, dict) else None
        if not isinstance(entry, dict):
            continue
        route = f"agent-{agent_id}"
        routed[agent_id] = copy.deepcopy(entry["model"])
        block.setdefault("routes", {})[route] = chain_of(entry["model"])
        entry["model"] = {"primary": f"{PROVIDER_ID}/{route}", "fallbacks": []}
    return routed


def plan_uninstall(installed: Doc, bookkeeping: Doc, *, bridge_dir: str = "") -> Plan:
    """Undo :func:`plan_install`. The plugin block's settings are returned for safe keeping."""
    doc = copy.deepcopy(installed)
    notes: list[str] = []
    entries = doc.get("plugins", {}).get("entries", {})
    entry = entries.pop(PLUGIN_ID, None) if isinstance(entries, dict) else None
    block = entry.get("config", {}) if isinstance(entry, dict) else {}
    providers = doc.get("models", {}).get("providers", {})
    if isinstance(providers, dict):
        providers.pop(PROVIDER_ID, None)
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
    installs = doc.get("plugins", {}).get("installs")
    if isinstance(installs, dict):
        installs.pop(PLUGIN_ID, None)
    return Plan(doc=doc, notes=tuple(notes), bookkeeping={"settings": block})


def _restore_agents(doc: Doc, block: Doc, originals: Doc) -> None:
    entries = doc.get("agents", {}).get("entries", {})
    routes = block.get("routes", {})
    for agent_id, original in originals.items():
        entry = entries.get(agent_id) if isinstance(entries, dict) else None
        if not isinstance(entry, dict):
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
