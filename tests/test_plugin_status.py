"""The candidate state view and the status text: pure functions over stored health and `now`."""

from __future__ import annotations

from openclaw_failover._ordering import model_key
from openclaw_failover._plugin_status import candidate_views, describe_status, state_keys
from openclaw_failover._ports import Health
from tests.fixtures.plugin_host import FALLBACK, LOCAL, NOW, PRIMARY, make_table


def test_state_keys_cover_every_candidate() -> None:
    """The keys to read include each candidate's model key; an unknown route has none."""
    table = make_table()
    keys = state_keys(table, "auto")
    assert {model_key(c) for c in (PRIMARY, FALLBACK, LOCAL)} <= set(keys)
    assert state_keys(table, "nope") == []


def test_expired_cooldown_is_half_open_and_usable() -> None:
    """A cooldown that has just ended reads half_open, which a turn may use (it is the probe)."""
    health = {model_key(PRIMARY): Health(cooldown_until=NOW - 1, cooldown_reason="timeout")}
    views = candidate_views(make_table(), "auto", health, NOW)
    assert views[0].state == "half_open"
    assert views[0].usable


def test_banned_candidates_are_marked() -> None:
    """A banned model is never usable, whatever its health."""
    views = candidate_views(make_table(banned_models=(PRIMARY.ref,)), "auto", {}, NOW)
    assert (views[0].state, views[0].usable) == ("banned", False)


def test_all_cooling_text_says_the_soonest_is_probed() -> None:
    """When nothing is usable the text says so; the details name no active model."""
    cooling = Health(cooldown_until=NOW + 60, cooldown_reason="server_error")
    table = make_table()
    health = {model_key(c): cooling for c in (PRIMARY, FALLBACK, LOCAL)}
    views = candidate_views(table, "auto", health, NOW)
    text, details = describe_status(
        table, route="auto", views=views, now=NOW, high_risk=frozenset({"exec"})
    )
    assert "Every candidate is cooling" in text
    assert "60s left, reason server_error" in text
    assert details["active"] is None


def test_unknown_route_lists_the_known_ones() -> None:
    """Asking for a route that does not exist names the routes that do."""
    text, details = describe_status(
        make_table(), route="batch", views=[], now=NOW, high_risk=frozenset()
    )
    assert "Unknown route 'batch'" in text
    assert details["known"] == "auto"


def test_healthy_primary_reads_healthy() -> None:
    """No stored health: the primary is ready and named as healthy."""
    table = make_table()
    views = candidate_views(table, "auto", {}, NOW)
    text, details = describe_status(
        table, route="auto", views=views, now=NOW, high_risk=frozenset()
    )
    assert f"Primary {PRIMARY.ref} is healthy." in text
    assert details["activeTier"] == "cloud"
