"""migrate on a chain whose ``fallbacks`` is one ref written as a string, next to fallbackN:
the ref stays whole (it became a list of its characters)."""

from __future__ import annotations

from openclaw_failover.config._migrate import as_fallbacks


def test_a_string_fallbacks_stays_one_ref_before_the_numbered_ones() -> None:
    model = {"primary": "a/one", "fallbacks": "b/two", "fallback2": "d/four", "fallback1": "c/3"}
    assert as_fallbacks(model) == {"primary": "a/one", "fallbacks": ["b/two", "c/3", "d/four"]}


def test_a_list_or_no_fallbacks_are_kept_as_before() -> None:
    assert as_fallbacks({"primary": "a/1", "fallbacks": ["b/2"], "fallback1": "c/3"}) == {
        "primary": "a/1",
        "fallbacks": ["b/2", "c/3"],
    }
    assert as_fallbacks({"primary": "a/1", "fallback1": "c/3"}) == {
        "primary": "a/1",
        "fallbacks": ["c/3"],
    }
