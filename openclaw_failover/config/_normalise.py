"""From a located document to routes, providers and their keys: the route table's parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .._catalog import DEFAULT_API, KNOWN_PROVIDERS
from .._errors import Problem
from .._model import Candidate, ModelSpec, Provider, Route, Settings, Tier
from ._chain import ChainEntry, parse_chain
from ._env import EnvLayers
from ._jsonpath import join
from ._keys import KeySources, resolve_profiles, store_profiles_of
from ._view import View


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Placed:
    """A chain entry resolved to a candidate, with the JSON path it was written at."""

    candidate: Candidate
    path: str
    route: str


@dataclass(slots=True)
class Normalised:
    """Everything the rules check: the parts of the table and where each came from."""

    view: View
    raw_view: View
    settings: Settings
    routes: dict[str, Route] = field(default_factory=dict)
    placed: list[Placed] = field(default_factory=list)
    providers: dict[str, Provider] = field(default_factory=dict)
    undefined: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


def split_ref(ref: str, aliases: Mapping[str, str]) -> tuple[str, str] | None:
    """``(provider, model)`` split on the first ``/``; a bare alias is looked up first. The
    ref and each side are trimmed, as OpenClaw reads a ref (``parseModelRef``)."""
    ref = ref.strip()
    ref = aliases.get(ref, ref)
    provider, sep, model = ref.partition("/")
    provider, model = provider.strip(), model.strip()
    return (provider, model) if sep and provider and model else None


def _models(*specs: Any) -> Mapping[str, ModelSpec]:
    out: dict[str, ModelSpec] = {}
    for spec in specs:
        for item in spec if isinstance(spec, list) else ():
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            compat = _obj(item.get("compat"))
            tools = compat.get("supportsTools", item.get("supportsTools"))
            window = item.get("contextWindow")
            max_tokens = item.get("maxTokens")
            out[item["id"]] = ModelSpec(
                id=item["id"],
                context_window=window if isinstance(window, int) else None,
                supports_tools=tools if isinstance(tools, bool) else None,
                max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            )
    return MappingProxyType(out)


def provider_field(n: Normalised, provider: str, key: str) -> Any:
    """The plugin block's value for ``key``, else ``models.providers``', else None."""
    plugin = _obj(n.view.providers.get(provider))
    shared = _obj(n.view.models_providers.get(provider))
    return plugin.get(key) if plugin.get(key) is not None else shared.get(key)


def _build_provider(n: Normalised, pid: str, env: EnvLayers, salt: bytes) -> Provider | None:
    plugin = _obj(n.view.providers.get(pid))
    shared = _obj(n.view.models_providers.get(pid))
    entry = KNOWN_PROVIDERS.get(pid)
    if not plugin and not shared and entry is None:
        return None
    base_url = provider_field(n, pid, "baseUrl")
    api = provider_field(n, pid, "api")
    if not isinstance(base_url, str):
        base_url = entry.base_url if entry else ""
    if not isinstance(api, str):
        api = entry.api if entry else DEFAULT_API
    headers = {**_obj(shared.get("headers")), **_obj(plugin.get("headers"))}
    timeout = shared.get("timeoutSeconds")
    limit = plugin.get("maxConcurrent")
    raw_plugin = _obj(n.raw_view.providers.get(pid))
    raw_shared = _obj(n.raw_view.models_providers.get(pid))
    sources = KeySources(
        provider=pid,
        auth=raw_plugin.get("auth"),
        auth_path=join(n.view.providers_path, pid, "auth"),
        api_key=raw_shared.get("apiKey"),
        api_key_path=join("models.providers", pid, "apiKey"),
        store_profiles=store_profiles_of(pid, n.view.auth_profiles),
        order=[p for p in n.view.auth_order.get(pid) or () if isinstance(p, str)],
        problems=n.problems,
    )
    profiles, explicit = resolve_profiles(
        sources, env, salt=salt, plugin_mode=n.settings.mode == "plugin"
    )
    return Provider(
        id=pid,
        api=api,
        base_url=base_url,
        profiles=profiles,
        headers=MappingProxyType({k: v for k, v in headers.items() if isinstance(v, str)}),
        timeout_s=float(timeout) if isinstance(timeout, int | float) else None,
        max_concurrent=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
        models=_models(shared.get("models"), plugin.get("models")),
        explicit_order=explicit,
    )


def local_entries(settings_block: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``tiers.local`` list: providers or ``provider/model`` references."""
    local = _obj(settings_block.get("tiers")).get("local")
    return tuple(v for v in local if isinstance(v, str)) if isinstance(local, list) else ()


def tier_of(provider: Provider, model: str, local: tuple[str, ...]) -> Tier:
    """LOCAL for api ``ollama`` or a ``tiers.local`` match; everything else is CLOUD."""
    if provider.api == "ollama" or provider.id in local or f"{provider.id}/{model}" in local:
        return Tier.LOCAL
    return Tier.CLOUD


def _chains(n: Normalised) -> dict[str, list[ChainEntry]]:
    chains = {"auto": parse_chain(n.view.model, path=n.view.model_path, problems=n.problems)}
    routes = _obj(n.view.settings.get("routes"))
    for name, spec in routes.items():
        if name == "auto":
            continue  # "auto" is the model chain itself; the schema reports a redefinition
        path = join(n.view.settings_path, "routes", name)
        chains[name] = parse_chain(spec, path=path, problems=n.problems)
    return chains


def place_entries(
    n: Normalised, name: str, entries: list[ChainEntry], problems: list[Problem]
) -> list[Placed]:
    """Each well-formed entry as a candidate of route ``name``; a bad ref goes to ``problems``."""
    local = local_entries(n.view.settings)
    placed: list[Placed] = []
    for entry in entries:
        parts = split_ref(entry.ref, n.view.aliases)
        if parts is None:
            problems.append(
                Problem(
                    "chain.invalid",
                    entry.path,
                    repr(entry.ref)[:80],
                    'a "provider/model" reference or a defined alias',
                    'write it as "provider/model", e.g. "openai/gpt-5.4-mini"',
                )
            )
            continue
        if any(c.isspace() for c in parts[0] + parts[1]):  # sent upstream as written
            problems.append(
                Problem(
                    "chain.invalid",
                    entry.path,
                    repr(entry.ref)[:80],
                    'a "provider/model" reference with no space inside',
                    "remove the spaces (a ${VAR} written into a ref would go out in every "
                    "request as part of the model id)",
                )
            )
            continue
        provider = n.providers.get(parts[0])
        tier = Tier.CLOUD if provider is None else tier_of(provider, parts[1], local)
        placed.append(Placed(Candidate(parts[0], parts[1], tier), entry.path, name))
    return placed


def _route(n: Normalised, name: str, entries: list[ChainEntry]) -> Route:
    placed = place_entries(n, name, entries, n.problems)
    n.undefined.update(
        p.candidate.provider for p in placed if p.candidate.provider not in n.providers
    )
    n.placed += placed
    ordered = [p.candidate for p in placed if p.candidate.tier is Tier.CLOUD]
    ordered += [p.candidate for p in placed if p.candidate.tier is Tier.LOCAL]
    return Route(name, tuple(c for c in ordered if c.provider in n.providers))


def normalise(n: Normalised, env: EnvLayers, *, salt: bytes) -> None:
    """Fill ``n.providers`` and ``n.routes`` from ``n.view``; findings go to ``n.problems``."""
    chains = _chains(n)
    wanted = dict.fromkeys(n.view.providers)
    for entries in chains.values():
        for entry in entries:
            parts = split_ref(entry.ref, n.view.aliases)
            if parts is not None:
                wanted[parts[0]] = None
    wanted.update(dict.fromkeys(p for p in n.view.models_providers if p != "failover"))
    for pid in wanted:
        provider = _build_provider(n, pid, env, salt)
        if provider is not None:
            n.providers[pid] = provider
    for name, entries in chains.items():
        n.routes[name] = _route(n, name, entries)
