"""JSON paths for findings, written the way operators type them: ``a.b[2].c`` or ``a["x/y"]``."""

from __future__ import annotations

import re

_PLAIN = re.compile(r"^[A-Za-z0-9_$-]+$")


def join(base: str, *parts: str | int) -> str:
    """Append object keys and list indexes to ``base``."""
    out = base
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN.match(part):
            out = f"{out}.{part}" if out else part
        else:
            out += f'["{part}"]'
    return out
