#!/usr/bin/env python3
"""Copy the top-level schemas/, skill.json and SKILL.md into openclaw_failover/data/.

They live at the top level (the design card's layout) and ship inside the wheel as package
data, because install and the bridge read them from the installed package. Files that do not
exist yet are skipped. ``--check`` changes nothing and exits 1 when a copy differs or is missing.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "openclaw_failover" / "data"


def pairs(root: Path = ROOT) -> list[tuple[Path, Path]]:
    """(top-level source, shipped copy) for every file that exists at the top level."""
    data = root / "openclaw_failover" / "data"
    found = [(root / name, data / name) for name in ("skill.json", "SKILL.md")]
    found += [(s, data / "schemas" / s.name) for s in sorted((root / "schemas").glob("*.json"))]
    return [(src, dst) for src, dst in found if src.is_file()]


def stale(root: Path = ROOT) -> list[Path]:
    """Shipped copies that are missing or differ from their top-level file."""
    return [
        dst for src, dst in pairs(root) if not dst.is_file() or dst.read_bytes() != src.read_bytes()
    ]


def main(argv: list[str]) -> int:
    """Sync (default) or check (``--check``)."""
    if "--check" in argv:
        bad = stale()
        for path in bad:
            print(f"out of date: {path.relative_to(ROOT)} (run scripts/sync_data.py)")
        return 1 if bad else 0
    for src, dst in pairs():
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.is_file() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
            print(f"synced {dst.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
