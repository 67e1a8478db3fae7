"""Provider rules: usable keys, APIs, loopback local tiers, Ollama's /v1, self-loops, conflicts."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .._catalog import OPENCLAW_APIS, env_prefix
from .._errors import Problem
from .._model import Provider, Tier
from ..providers import SUPPORTED_APIS
from ._jsonpath import join
from ._keys import key_variables
from ._normalise import Normalised
from ._redact import mask_url

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is a loopback name or address (``[::1]`` included)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    local = is_loopback_url(url) or host in {"0.0.0.0", "::"}  # noqa: S104 - compared, not bound
    return ("loopback" if local else host, port)


def field_path(n: Normalised, provider: str, key: str) -> str:
    """Where ``key`` of ``provider`` is written: the plugin block first, else models.providers."""
    plugin = n.view.providers.get(provider)
    if isinstance(plugin, dict) and key in plugin:
        return join(n.view.providers_path, provider, key)
    shared = n.view.models_providers.get(provider)
    if isinstance(shared, dict) and key in shared:
        return join("models.providers", provider, key)
    return join("models.providers", provider)


def _tiers(n: Normalised) -> dict[str, set[Tier]]:
    tiers: dict[str, set[Tier]] = {}
    for placed in n.placed:
        tiers.setdefault(placed.candidate.provider, set()).add(placed.candidate.tier)
    return tiers


def _key_path(n: Normalised, pid: str) -> str:
    plugin, shared = n.view.providers.get(pid), n.view.models_providers.get(pid)
    if isinstance(plugin, dict) and "auth" in plugin:
        return join(n.view.providers_path, pid, "auth")
    if isinstance(shared, dict) and "apiKey" in shared:
        return join("models.providers", pid, "apiKey")
    return join(n.view.providers_path, pid)


def _no_key(n: Normalised, p: Provider) -> Problem | None:
    # A dummy such as "ollama-local" is a placeholder, not a key a cloud provider accepts.
    if n.settings.mode != "provider" or any(
        x.secret is not None and x.source != "dummy" for x in p.profiles
    ):
        return None
    pre = env_prefix(p.id)
    tried = ", ".join(
        f"{x.id} ({' '.join(filter(None, (x.source, x.source_name)))})" for x in p.profiles
    )
    return Problem(
        "auth.no-usable-key",
        _key_path(n, p.id),
        f"no usable key for {p.id!r}" + (f"; tried {tried}" if tried else ""),
        f"a key in {join(n.view.providers_path, p.id, 'auth')}, models.providers.{p.id}.apiKey, "
        f"or one of {pre}_API_KEY, {pre}_API_KEYS, OPENCLAW_LIVE_{pre}_KEY",
        _no_key_fix(n, p),
    )


def _referenced_names(p: Provider) -> list[str]:
    """The variables the config's key entries name (``${VAR}``, env SecretRef ids)."""
    return list(dict.fromkeys(name for x in p.profiles for name in key_variables(x)))


def _no_key_fix(n: Normalised, p: Provider) -> str:
    """A fix that works: once the config gives keys, OpenClaw's env names are not read."""
    pre = env_prefix(p.id)
    names = _referenced_names(p)
    if names:
        return (
            f"export {'=... and export '.join(names)}=... (or put it in $OPENCLAW_STATE_DIR/.env)"
        )
    if p.profiles:  # profile ids, file/exec SecretRefs, placeholders: nothing the proxy can send
        return (
            f'write the key as "${{{pre}_API_KEY}}" in {_key_path(n, p.id)} '
            f"and export {pre}_API_KEY (a profile id, a file or exec SecretRef or a placeholder "
            "is not a key the proxy can send)"
        )
    return f"export {pre}_API_KEY=... (or put it in $OPENCLAW_STATE_DIR/.env)"


def _no_url(n: Normalised, p: Provider) -> Problem | None:
    if p.base_url:
        return None
    return Problem(
        "provider.no-base-url",
        field_path(n, p.id, "baseUrl"),
        f"provider {p.id!r} with no baseUrl (and not in the built-in catalog)",
        "a baseUrl in models.providers or the providers block",
        f'set models.providers["{p.id}"].baseUrl, e.g. "http://127.0.0.1:8080/v1"',
    )


def _api(n: Normalised, p: Provider) -> Problem | None:
    path = field_path(n, p.id, "api")
    if p.api not in OPENCLAW_APIS:
        return Problem(
            "provider.unknown-api",
            path,
            f"api {p.api!r}",
            f"one of {', '.join(sorted(OPENCLAW_APIS))}",
            "fix the api name",
        )
    if n.settings.mode == "provider" and p.api not in SUPPORTED_APIS:
        return Problem(
            "provider.unsupported-api",
            path,
            f"api {p.api!r}, which the failover proxy cannot speak",
            f"one of {', '.join(sorted(SUPPORTED_APIS))} on the provider path",
            'drop it from the chain, use its OpenAI-compatible endpoint, or mode: "plugin"',
        )
    return None


def _tier_entry(n: Normalised, p: Provider) -> tuple[str, str] | None:
    """``(path, entry)`` of the first ``tiers.local`` entry naming ``p`` (None: local by api)."""
    if p.api == "ollama":
        return None
    tiers = n.view.settings.get("tiers")
    listed = tiers.get("local") if isinstance(tiers, dict) else None
    for i, entry in enumerate(listed if isinstance(listed, list) else ()):
        if isinstance(entry, str) and (entry == p.id or entry.startswith(f"{p.id}/")):
            return join(n.view.settings_path, "tiers", "local", i), entry
    return None


def _local(n: Normalised, p: Provider) -> list[Problem]:
    out = []
    path = field_path(n, p.id, "baseUrl")
    fix = "point it at 127.0.0.1, or set allowRemoteLocal: true if that is intended"
    listed = _tier_entry(n, p)
    if listed is not None:  # local only because tiers.local says so: maybe by mistake
        tiers = listed[0].rsplit("[", 1)[0]
        fix = f"remove {listed[1]} from {tiers} if it is a cloud model, or {fix}"
        if not path.endswith(".baseUrl"):  # the catalog's URL: the file has no key to fix
            path = listed[0]
    if not is_loopback_url(p.base_url) and not n.settings.allow_remote_local:
        out.append(
            Problem(
                "local.remote-url",
                path,
                f"local-tier baseUrl {mask_url(p.base_url)!r} off this machine",
                "a loopback URL (127.0.0.1, localhost or [::1])",
                fix,
            )
        )
    return out


def _ollama_v1(n: Normalised, p: Provider) -> Problem | None:
    if p.api != "ollama" or not urlsplit(p.base_url).path.rstrip("/").endswith("/v1"):
        return None
    return Problem(
        "ollama.v1-path",
        field_path(n, p.id, "baseUrl"),
        f"Ollama baseUrl {mask_url(p.base_url)!r}",
        "the native root without /v1 (/v1 breaks tool calls: the model emits raw JSON)",
        f"use {mask_url(p.base_url).rstrip('/').removesuffix('/v1')}",
        severity="warning",
    )


def _self_loop(n: Normalised, p: Provider) -> Problem | None:
    proxy = n.settings.proxy
    own = _endpoint(f"http://{proxy.host}:{proxy.port}")
    if own is None or _endpoint(p.base_url) != own:
        return None
    return Problem(
        "chain.self-loop",
        field_path(n, p.id, "baseUrl"),
        f"provider {p.id!r} at {mask_url(p.base_url)!r}, which is the failover proxy itself",
        "candidates that are real upstreams",
        "remove it from the chain; the proxy runs the chain",
    )


def _conflicts(n: Normalised, pid: str) -> list[Problem]:
    plugin, shared = n.view.providers.get(pid), n.view.models_providers.get(pid)
    if not isinstance(plugin, dict) or not isinstance(shared, dict):
        return []
    out = []
    for key in ("baseUrl", "api"):
        a, b = plugin.get(key), shared.get(key)
        if a is not None and b is not None and a != b:
            out.append(
                Problem(
                    "provider.conflict",
                    join(n.view.providers_path, pid, key),
                    f"{mask_url(str(a))!r} here and {mask_url(str(b))!r} "
                    f"in models.providers.{pid}.{key}",
                    "one value, or the same in both",
                    f"keep {key} in one place only",
                )
            )
    return out


def check(n: Normalised) -> None:
    """Run the provider rules over every provider a chain uses (conflicts: every provider)."""
    tiers = _tiers(n)
    for pid in n.providers:
        n.problems.extend(_conflicts(n, pid))
    for pid, used in tiers.items():
        p = n.providers.get(pid)
        if p is None:
            continue
        found = [_no_url(n, p), _api(n, p), _ollama_v1(n, p), _self_loop(n, p)]
        if Tier.CLOUD in used:
            found.append(_no_key(n, p))
        if Tier.LOCAL in used and p.base_url:
            found += _local(n, p)
        n.problems.extend(f for f in found if f is not None)
