"""Which kind a file is, and where each part of the failover config sits in it.

OpenClaw's own file keeps the plugin settings in ``plugins.entries["openclaw-failover"].config``;
a standalone failover file has the articles' shape at its root and the rest under ``failover``
(design: "Config: two kinds of file, one route table").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._paths import discover_config_path

Kind = Literal["openclaw", "standalone"]

PLUGIN_ID = "openclaw-failover"
PLUGIN_BLOCK_PATH = f"plugins.entries.{PLUGIN_ID}.config"
#: Root keys that only OpenClaw's own file has.
OPENCLAW_ONLY_KEYS = frozenset(
    {"gateway", "channels", "plugins", "tools", "meta", "session", "hooks", "skills", "update"}
)
OPENCLAW_NAMES = frozenset({"openclaw.json", "openclaw.json5"})
FALLBACK_KEY = re.compile(r"^fallback(\d*)$")


def detect_kind(path: Path, doc: Mapping[str, Any], environ: Mapping[str, str]) -> Kind:
    """``openclaw`` for the file OpenClaw loads, a file so named, or one with its root keys."""
    try:
        if path.resolve() == discover_config_path(environ).resolve():
            return "openclaw"
    except OSError:  # an unresolvable path is simply not OpenClaw's
        pass
    if path.name in OPENCLAW_NAMES or OPENCLAW_ONLY_KEYS & set(doc):
        return "openclaw"
    return "standalone"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dig(doc: Mapping[str, Any], *keys: str) -> Any:
    """``doc[k1][k2]...`` or None when any level is missing or not an object."""
    value: Any = doc
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True, slots=True)
class View:
    """The parts of one document the route table is built from, with their JSON paths."""

    kind: Kind
    doc: dict[str, Any]
    settings: dict[str, Any]
    settings_path: str
    model: Any
    model_path: str
    providers: dict[str, Any]
    providers_path: str
    models_providers: dict[str, Any]
    auth_profiles: dict[str, Any]
    auth_order: dict[str, Any]
    aliases: dict[str, str]


def _aliases(doc: Mapping[str, Any]) -> dict[str, str]:
    models = _obj(dig(doc, "agents", "defaults", "models"))
    out: dict[str, str] = {}
    for ref, spec in models.items():
        alias = _obj(spec).get("alias")
        if isinstance(alias, str):
            out[alias] = ref
    return out


def _locate(doc: dict[str, Any], kind: Kind) -> tuple[dict[str, Any], str, Any, str, str]:
    """``(settings, settings path, model, model path, providers path)`` for ``kind``."""
    defaults_model = dig(doc, "agents", "defaults", "model")
    if kind == "openclaw":
        block = _obj(dig(doc, "plugins", "entries", PLUGIN_ID, "config"))
        if "model" in block:
            own = (block["model"], f"{PLUGIN_BLOCK_PATH}.model")
        else:
            own = (defaults_model, "agents.defaults.model")
        return block, PLUGIN_BLOCK_PATH, own[0], own[1], f"{PLUGIN_BLOCK_PATH}.providers"
    block = _obj(doc.get("failover"))
    if defaults_model is not None or "model" not in block:
        chain = (defaults_model, "agents.defaults.model")
    else:
        chain = (block["model"], "failover.model")
    providers_path = (
        "providers" if "providers" in doc or "providers" not in block else "failover.providers"
    )
    return block, "failover", chain[0], chain[1], providers_path


def build_view(doc: dict[str, Any], kind: Kind) -> View:
    """Locate the chain, the providers and the plugin settings for ``kind``."""
    settings, settings_path, model, model_path, providers_path = _locate(doc, kind)
    providers = dig(doc, *providers_path.split("."))
    return View(
        kind=kind,
        doc=doc,
        settings=settings,
        settings_path=settings_path,
        model=model,
        model_path=model_path,
        providers=_obj(providers),
        providers_path=providers_path,
        models_providers=_obj(dig(doc, "models", "providers")),
        auth_profiles=_obj(dig(doc, "auth", "profiles")),
        auth_order=_obj(dig(doc, "auth", "order")),
        aliases=_aliases(doc),
    )
