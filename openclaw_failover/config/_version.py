"""The route-table version: a short stable hash of everything that decides routing.

Secret values and their fingerprints are left out (a rotated key keeps the version), and so
are the resolved state and audit paths; object key order cannot matter because the canonical
form is written with sorted keys. List order (chains, auth rotation) is kept: it is routing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

from .._model import Profile, RouteTable, Secret

VERSION_LENGTH = 12


def _profile(value: Profile) -> dict[str, Any]:
    return {
        "id": value.id,
        "provider": value.provider,
        "usable": value.secret is not None,
        "source": value.source,
        "source_name": value.source_name,
    }


def _scalar(value: Any) -> Any:
    if isinstance(value, Secret):
        return "<set>"
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 30 and 30.0 are the same setting
    return value.value if isinstance(value, Enum) else value


def _plain(value: Any) -> Any:
    if isinstance(value, Profile):
        return _profile(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, tuple | list) else _scalar(value)


def canonical_table(table: RouteTable) -> dict[str, Any]:
    """The JSON-ready form the version hashes (no secrets, no machine-local paths)."""
    settings = _plain(table.settings)
    settings["state"].pop("directory", None)
    settings["audit"].pop("path", None)
    return {
        "routes": _plain(table.routes),
        "providers": _plain(table.providers),
        "settings": settings,
    }


def route_table_version(table: RouteTable) -> str:
    """A 12-hex-digit hash of ``canonical_table(table)``."""
    text = json.dumps(canonical_table(table), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:VERSION_LENGTH]
