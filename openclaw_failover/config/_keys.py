"""A provider's keys, in rotation order: ``auth[]``, then ``apiKey``, then OpenClaw's env names.

References are never keys (design: "Keys and profiles"): a profile id such as
``openai:manual`` (the secret lives in OpenClaw's own store), a SecretRef object, and known
dummies such as ``ollama-local``, which pass through as a non-secret value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._catalog import DUMMY_KEYS, KNOWN_PROVIDERS, env_prefix
from .._errors import Problem
from .._model import Profile, Secret
from ._env import EnvLayers, substitute, whole_reference
from ._jsonpath import join

_PROFILE_REF = re.compile(r"^([a-z0-9][a-z0-9._-]*):(\S+)$")


@dataclass(slots=True)
class KeySources:
    """Where one provider's keys may come from, as written (before substitution)."""

    provider: str
    auth: Any = None
    auth_path: str = ""
    api_key: Any = None
    api_key_path: str = ""
    store_profiles: Sequence[str] = ()
    order: Sequence[str] = ()
    problems: list[Problem] = field(default_factory=list)


def _is_profile_ref(raw: str, provider: str, store: Sequence[str]) -> bool:
    match = _PROFILE_REF.match(raw)
    if not match or "${" in raw:
        return False
    prefix = match.group(1)
    return raw in store or prefix == provider or prefix in KNOWN_PROVIDERS


def _unresolved(src: KeySources, path: str, found: str, fix: str) -> None:
    src.problems.append(
        Problem(
            "auth.unresolved-reference",
            path,
            found,
            "a key the proxy can send (a ${VAR}, an env SecretRef, or an auth[] entry)",
            fix,
            severity="warning",
        )
    )


def _from_secret_ref(
    ref: dict[str, Any], pid: str, src: KeySources, env: EnvLayers, path: str
) -> Profile:
    source, name = str(ref.get("source", "")), str(ref.get("id", ""))
    if source == "env" and name:
        found = env.lookup(name)
        if found is not None:
            return Profile(pid, src.provider, Secret(found[0]), found[1], name)
    _unresolved(
        src,
        path,
        f"SecretRef {source}:{name} that cannot be resolved here",
        f"set {name} in the environment" if source == "env" else 'use {source: "env", ...}',
    )
    return Profile(pid, src.provider, None, "secretref", f"{source}:{name}")


def _from_value(raw: Any, pid: str, src: KeySources, env: EnvLayers, path: str) -> Profile:
    """One key entry; ``pid`` is the id to use unless the value is itself a profile id."""
    if isinstance(raw, dict):
        return _from_secret_ref(raw, pid, src, env, path)
    if not isinstance(raw, str) or not raw:
        return Profile(pid, src.provider, None, "config")
    if raw in DUMMY_KEYS:
        return Profile(pid, src.provider, Secret(raw), "dummy", raw)
    if _is_profile_ref(raw, src.provider, src.store_profiles):
        _unresolved(
            src,
            path,
            f"profile id {raw!r} (its secret is in OpenClaw's own store)",
            'give the proxy the key itself, e.g. auth: [{ key: "${VAR}" }]',
        )
        return Profile(raw, src.provider, None, "openclaw-store", raw)
    return _from_text(raw, pid, src, env, path)


#: Where a key entry's value came from when it names variables (``${VAR}`` in the process
#: env, OpenClaw's ``.env`` or the config's ``env.vars``).
_ENV_SOURCES = frozenset({"env", ".env", "env.vars"})


def key_variables(profile: Profile) -> tuple[str, ...]:
    """The variables ``profile``'s key entry names: its ``${VAR}`` references (the missing
    ones, for a key that did not resolve) or an env SecretRef's id; () for anything else."""
    if profile.source in _ENV_SOURCES:
        return tuple(name for name in profile.source_name.split(",") if name)
    if profile.source == "secretref" and profile.source_name.startswith("env:"):
        return (profile.source_name.removeprefix("env:"),)
    return ()


def _from_text(raw: str, pid: str, src: KeySources, env: EnvLayers, path: str) -> Profile:
    text, missing = substitute(raw, env)
    var = whole_reference(raw)
    if missing:
        return Profile(pid, src.provider, None, "env", ",".join(missing))
    if var is not None:
        found = env.lookup(var)
        source = found[1] if found else "env"
        return Profile(pid, src.provider, Secret(text), source, var)
    if "${" not in raw:
        src.problems.append(
            Problem(
                "secret.plaintext",
                path,
                "a key written inline in plain text",
                f'a reference such as "${{{env_prefix(src.provider)}_API_KEY}}"',
                "move the key into the environment or $OPENCLAW_STATE_DIR/.env and "
                "write ${VAR} here",
                severity="warning",
            )
        )
    return Profile(pid, src.provider, Secret(text), "config")


def _config_profiles(src: KeySources, env: EnvLayers) -> list[Profile]:
    profiles: list[Profile] = []
    if isinstance(src.auth, list):
        for i, entry in enumerate(src.auth):
            item = entry if isinstance(entry, dict) else {"key": entry}
            label = item.get("profile")
            pid = f"{src.provider}:{label if isinstance(label, str) and label else i}"
            path = join(src.auth_path, i, "key")
            profiles.append(_from_value(item.get("key"), pid, src, env, path))
    if src.api_key is not None:
        pid = f"{src.provider}:apiKey"
        profiles.append(_from_value(src.api_key, pid, src, env, src.api_key_path))
    return profiles


def _env_profiles(provider: str, env: EnvLayers) -> list[Profile]:
    prefix = env_prefix(provider)
    names = [f"OPENCLAW_LIVE_{prefix}_KEY", f"{prefix}_API_KEYS", f"{prefix}_API_KEY"]
    numbered = re.compile(rf"^{re.escape(prefix)}_API_KEY_(\d+)$")
    indexed = [(int(m.group(1)), n) for n in env.names() if (m := numbered.match(n))]
    names += [n for _, n in sorted(indexed)]
    out: list[Profile] = []
    for name in names:
        found = env.lookup(name)
        if found is None:
            continue
        value, source = found
        if name.endswith("_API_KEYS"):
            parts = [p.strip() for p in re.split(r"[,;]", value) if p.strip()]
            out += [
                Profile(f"{provider}:{name}[{i}]", provider, Secret(p), source, name)
                for i, p in enumerate(parts)
            ]
        else:
            out.append(Profile(f"{provider}:{name}", provider, Secret(value), source, name))
    seen: set[str] = set()
    unique = []
    for profile in out:  # the same key under two names is one key
        value = profile.secret.reveal() if profile.secret else ""
        if value not in seen:
            seen.add(value)
            unique.append(profile)
    return unique


def _ordered(profiles: list[Profile], order: Sequence[str]) -> list[Profile]:
    rank = {pid: i for i, pid in enumerate(order)}
    return sorted(profiles, key=lambda p: rank.get(p.id, len(rank)))


def _check_duplicates(src: KeySources, profiles: Sequence[Profile]) -> None:
    seen: set[str] = set()
    for i, profile in enumerate(profiles):
        if profile.id in seen:
            src.problems.append(
                Problem(
                    "auth.duplicate-profile",
                    join(src.auth_path, i, "profile"),
                    f"profile id {profile.id!r} a second time",
                    "profile ids unique within a provider",
                    "give each auth[] entry its own profile label",
                )
            )
        seen.add(profile.id)


def resolve_profiles(
    src: KeySources, env: EnvLayers, *, salt: bytes, plugin_mode: bool
) -> tuple[tuple[Profile, ...], bool]:
    """The provider's profiles in rotation order, and whether that order is explicit."""
    profiles = _config_profiles(src, env)
    _check_duplicates(src, profiles)
    if not profiles:
        profiles = _env_profiles(src.provider, env)
    if plugin_mode:
        known = {p.id for p in profiles}
        profiles += [
            Profile(pid, src.provider, None, "openclaw-store", pid)
            for pid in src.store_profiles
            if pid not in known
        ]
    explicit = bool(src.order) or (isinstance(src.auth, list) and bool(src.auth))
    if src.order:
        profiles = _ordered(profiles, src.order)
    salted = [
        replace(p, fingerprint=p.secret.fingerprint(salt)) if p.secret is not None and salt else p
        for p in profiles
    ]
    return tuple(salted), explicit


def store_profiles_of(provider: str, auth_profiles: Mapping[str, Any]) -> tuple[str, ...]:
    """OpenClaw's ``auth.profiles`` ids that belong to ``provider``."""
    return tuple(
        pid
        for pid, meta in auth_profiles.items()
        if isinstance(meta, dict) and meta.get("provider") == provider
    )
