"""Masking for anything shown to a person: secrets, key-shaped text and URL credentials.

A document value is masked when it sits under a secret-bearing key (``key``, ``apiKey``,
``token``, ``env.vars``...) and is not a reference, or when it equals a known secret. Text
(messages, tables, JSON for scripts) goes through :func:`scrub_text`: every secret value this
process knows of (:func:`known_secrets`: the process env, ``.env``, ``env.vars``, keys written
in the config, resolved profiles, OpenClaw's legacy profile file), anything shaped like a
provider key, and the ``user:password@`` part of a URL. A key can reach a message by accident
(``"openai/${OPENAI_API_KEY}"`` in a chain puts it in a model ref), so every command that
shows config-derived text masks it this one way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._catalog import DUMMY_KEYS
from .._model import header_credentials, is_credential_header
from ._env import env_vars_of, read_dotenv
from ._paths import openclaw_state_root
from ._source import read_document

if TYPE_CHECKING:
    from .._model import RouteTable

MASK = "***"
_MIN_SECRET = 6
_SECRET_FIELDS = frozenset({"key", "apiKey", "token", "password", "secret", "url"})
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
_REFERENCE = re.compile(r"^(\$\{[A-Z_][A-Z0-9_]*\}|[a-z0-9][a-z0-9._-]*:\S+)$")
# Provider key prefixes (OpenAI/Anthropic/OpenRouter sk-, Groq gsk_, xAI, Perplexity, NVIDIA,
# Hugging Face, GitHub, GitLab, Replicate, Cerebras, Fireworks, Google AIza) and a long tail.
_KEY_SHAPED = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:sk|gsk|xai|pplx|nvapi|hf|ghp|gho|ghs|glpat|r8|csk|fw)[-_]"
    r"[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{30,})"
)
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@'\"<>]+@")


def secret_values(environ: Mapping[str, str]) -> frozenset[str]:
    """Values of environment variables whose names look like they hold secrets."""
    return frozenset(
        v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET
    )


def _is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value)) or value in DUMMY_KEYS


def redact(value: Any, *, secrets: frozenset[str], field: str = "") -> Any:
    """``value`` with every secret string replaced by ``***``."""
    if isinstance(value, dict):
        masked_block = field == "vars"
        headers = field == "headers"
        return {
            k: (
                MASK
                if isinstance(v, str) and (masked_block or (headers and _secret_header(str(k), v)))
                else redact(v, secrets=secrets, field=k)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, secrets=secrets, field=field) for v in value]
    if isinstance(value, str):
        if field in _SECRET_FIELDS and value and not _is_reference(value):
            return MASK
        if value in secrets:
            return MASK
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
    return value


def mask_url(url: str) -> str:
    """``url`` (or any text holding URLs) with each ``user:password@`` shown as ``***@``."""
    return _URL_USERINFO.sub(r"\g<scheme>***@", url)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret, key-shaped token and URL credential masked; a secret
    is also found as ``repr`` and JSON write it (a quote or a backslash in it escaped)."""
    spellings = {form for secret in secrets for form in _escaped_forms(secret)}
    for secret in sorted(spellings, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(secret, MASK)
    return mask_url(_KEY_SHAPED.sub(MASK, text))


def _escaped_forms(secret: str) -> tuple[str, ...]:
    if secret.isascii() and secret.isprintable() and not any(c in secret for c in "\\'\""):
        return (secret,)  # the usual key: written the same everywhere
    return (
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(repr(secret)[1:-1])[1:-1],
    )


def scrub_tree(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON-like value with :func:`scrub_text` applied to every string (keys included)."""
    ordered = sorted(set(secrets), key=len, reverse=True)
    return _scrub_tree(value, ordered)


def _scrub_tree(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {_scrub_tree(k, secrets): _scrub_tree(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_tree(v, secrets) for v in value]
    return value


def _secret_header(name: str, value: str) -> bool:
    """A provider header that carries a credential, written as a value (not a reference)."""
    return bool(value) and is_credential_header(name) and not _is_reference(value)


def _header_values(headers: Mapping[Any, Any]) -> Iterable[str]:
    """The credentials written in a document's ``headers`` block."""
    written = {str(k): v for k, v in headers.items() if isinstance(v, str)}
    return header_credentials({k: v for k, v in written.items() if _secret_header(k, v)})


def _inline_values(value: Any, field: str = "") -> Iterable[str]:
    """Strings written under a secret-bearing key (or a credential header) that are not
    references."""
    if isinstance(value, dict):
        if field == "headers":
            yield from _header_values(value)
        for k, v in value.items():
            yield from _inline_values(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _inline_values(v, field)
    elif isinstance(value, str) and field == "url":
        yield from _url_password(value)
    elif isinstance(value, str) and field in _SECRET_FIELDS and not _is_reference(value):
        yield value


def _url_password(url: str) -> Iterable[str]:
    """The password of a URL (a redis:// URL's), not the URL: its host is worth showing."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if password:
        yield password


def _store_values(state_root: Path) -> Iterable[str]:
    """Keys in OpenClaw's legacy ``agents/*/agent/auth-profiles.json`` (best effort)."""
    for path in sorted(state_root.glob("agents/*/agent/auth-profiles.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if isinstance(profiles, dict):
            yield from _inline_values(profiles)


def _table_values(table: RouteTable) -> Iterable[str]:
    for provider in table.providers.values():
        yield from header_credentials(provider.headers)
        for profile in provider.profiles:
            if profile.secret is not None and profile.source != "dummy":
                yield profile.secret.reveal()
    if table.settings.proxy.token is not None:
        yield table.settings.proxy.token.reveal()
    if table.settings.state.url is not None:
        yield from _url_password(table.settings.state.url.reveal())


def loaded_secrets(
    doc: Any, variables: Iterable[Mapping[str, str]], table: RouteTable
) -> frozenset[str]:
    """The secrets one load knows of: secret-named variables of every env layer, values under
    secret keys in the document, and the table's keys, token and URL password."""
    found: set[str] = set(_inline_values(doc)) | set(_table_values(table))
    for layer in variables:
        found.update(secret_values(layer))
    return frozenset(v for v in found if len(v) >= _MIN_SECRET and v not in DUMMY_KEYS)


def known_secrets(
    environ: Mapping[str, str],
    *,
    config_path: str | Path | None = None,
    table: RouteTable | None = None,
) -> frozenset[str]:
    """Every secret value this process can know of, to mask in whatever it prints."""
    root = openclaw_state_root(environ)
    found = set(secret_values(environ)) | set(secret_values(read_dotenv(root)))
    found.update(_store_values(root))
    if config_path is not None:
        doc, _ = read_document(config_path, environ=environ)
        if doc is not None:
            found.update(secret_values(env_vars_of(doc)))
            found.update(_inline_values(doc))
    if table is not None:
        found.update(_table_values(table))
    return frozenset(v for v in found if len(v) >= _MIN_SECRET and v not in DUMMY_KEYS)
