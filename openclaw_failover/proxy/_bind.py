"""The bind rule: loopback by default; a remote bind needs --allow-remote and a token."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_refusal(host: str, *, allow_remote: bool, has_token: bool) -> str | None:
    """Why binding ``host`` is refused, or None: a non-loopback bind needs both
    ``--allow-remote`` and a configured ``proxy.token``."""
    if is_loopback(host):
        return None
    if not allow_remote:
        return (
            f"--host {host}: found a non-loopback address; expected 127.0.0.1 or ::1. "
            "Fix: pass --allow-remote and set proxy.token to serve other machines."
        )
    if not has_token:
        return (
            f"--host {host} with --allow-remote: found no proxy.token; expected a token so "
            "remote callers must authenticate. Fix: set proxy.token (e.g. "
            '"${OPENCLAW_FAILOVER_TOKEN}") in the plugin block.'
        )
    return None
