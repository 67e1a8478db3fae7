#!/usr/bin/env python3
"""Write the bridge manifest (openclaw_failover/bridge/openclaw.plugin.json) from its sources.

configSchema is copied from schemas/plugin-config.schema.json (the plugin block's schema, the one
contract for config); the rest is fixed here. `--check` exits 1 when the file on disk differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "plugin-config.schema.json"
MANIFEST = ROOT / "openclaw_failover" / "bridge" / "openclaw.plugin.json"
PYPROJECT = ROOT / "pyproject.toml"


def version() -> str:
    """The package version from pyproject.toml."""
    for line in PYPROJECT.read_text(encoding="utf-8").splitlines():
        if line.startswith("version = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("pyproject.toml: no version line")


def manifest() -> dict[str, object]:
    """The manifest as it should be."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return {
        "id": "openclaw-failover",
        "name": "OpenClaw Failover",
        "description": (
            "Model failover for OpenClaw: key rotation, cooldowns, cross-provider fallback, "
            "a local tier with a tool guard, and an audit trail (Python sidecar)."
        ),
        "version": version(),
        "categories": ["models"],
        "activation": {"onStartup": True},
        "contracts": {"tools": ["failover_status"]},
        "cliCommands": [
            {
                "name": "failover",
                "description": "Model failover: status, cooldowns, probes, reports",
                "hasSubcommands": True,
            }
        ],
        "configSchema": schema,
    }


def render() -> str:
    """The manifest file's exact text."""
    return json.dumps(manifest(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write the manifest, or with --check compare it."""
    text = render()
    if "--check" in argv:
        same = MANIFEST.exists() and MANIFEST.read_text(encoding="utf-8") == text
        if not same:
            print(f"{MANIFEST} is stale; run scripts/sync-bridge-manifest.py", file=sys.stderr)
        return 0 if same else 1
    MANIFEST.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
