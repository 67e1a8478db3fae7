"""Masking for anything shown to a person: a document with its secrets replaced by ``***``.

A value is masked when it sits under a secret-bearing key (``key``, ``apiKey``, ``token``,
``env.vars``...) and is not a reference, or when it equals a secret-looking environment value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._catalog import DUMMY_KEYS

MASK = "***"
_SECRET_FIELDS = frozenset({"key", "apiKey", "token", "password", "secret", "url"})
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
_REFERENCE = re.compile(r"^(\$\{[A-Z_][A-Z0-9_]*\}|[a-z0-9][a-z0-9._-]*:\S+)$")


def secret_values(environ: Mapping[str, str]) -> frozenset[str]:
    """Values of environment variables whose names look like they hold secrets."""
    return frozenset(v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= 6)


def _is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value)) or value in DUMMY_KEYS


def redact(value: Any, *, secrets: frozenset[str], field: str = "") -> Any:
    """``value`` with every secret string replaced by ``***``."""
    if isinstance(value, dict):
        masked_block = field == "vars"
        return {
            k: (
                MASK if masked_block and isinstance(v, str) else redact(v, secrets=secrets, field=k)
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
