"""``openclaw-failover serve``: the bind rule (loopback unless --allow-remote and a token)."""

from __future__ import annotations

import pytest

from openclaw_failover.proxy._bind import bind_refusal, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_allowed(host: str) -> None:
    """Loopback addresses bind without --allow-remote or a token."""
    assert is_loopback(host)
    assert bind_refusal(host, allow_remote=False, has_token=False) is None


def test_remote_bind_needs_allow_remote() -> None:
    """A non-loopback bind without --allow-remote is refused, naming the flag."""
    reason = bind_refusal("0.0.0.0", allow_remote=False, has_token=True)
    assert reason is not None
    assert "--allow-remote" in reason


def test_remote_bind_needs_token() -> None:
    """--allow-remote alone is not enough: a token must be configured."""
    reason = bind_refusal("10.1.2.3", allow_remote=True, has_token=False)
    assert reason is not None
    assert "proxy.token" in reason


def test_remote_bind_with_flag_and_token() -> None:
    """--allow-remote plus a token allows a non-loopback bind."""
    assert bind_refusal("0.0.0.0", allow_remote=True, has_token=True) is None
    assert not is_loopback("example-host")
