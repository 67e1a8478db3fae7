"""Config: load OpenClaw's file or a standalone failover file into one checked ``RouteTable``."""

from __future__ import annotations

from ._load import ENVIRONMENTAL_RULES, LoadResult, load_route_table, require_route_table
from ._paths import (
    discover_config_path,
    load_fingerprint_salt,
    openclaw_state_root,
    resolve_state_dir,
)
from ._rules import RULE_IDS
from ._version import route_table_version

__all__ = [
    "ENVIRONMENTAL_RULES",
    "RULE_IDS",
    "LoadResult",
    "discover_config_path",
    "load_fingerprint_salt",
    "load_route_table",
    "openclaw_state_root",
    "require_route_table",
    "resolve_state_dir",
    "route_table_version",
]
