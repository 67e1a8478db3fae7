"""Numbered fallback keys: none is silently dropped, and one slot named twice says so."""

from __future__ import annotations

import pytest

from openclaw_failover._errors import Problem
from openclaw_failover.config._chain import parse_chain

BASE = "agents.defaults.model"


def _parse(model: dict[str, str]) -> tuple[list[str], list[Problem]]:
    problems: list[Problem] = []
    entries = parse_chain(model, path=BASE, problems=problems)
    return [e.ref for e in entries], problems


@pytest.mark.parametrize("key", ["fallback0", "fallback00"])
def test_fallback_zero_is_a_finding(key):
    """fallback0 names no slot: an error at its path, not a chain that quietly lacks it."""
    refs, problems = _parse({"primary": "a/x", key: "b/y"})
    assert refs == ["a/x"]
    assert [(p.rule, p.path, p.severity) for p in problems] == [
        ("chain.fallback-slot", f"{BASE}.{key}", "error")
    ]


def test_fallback_and_fallback1_name_one_slot():
    """fallback and fallback1 are both slot 1: reported as such, not as a gap before fallback2."""
    refs, problems = _parse({"primary": "a/x", "fallback": "b/y", "fallback1": "c/z"})
    assert refs == ["a/x", "b/y"]
    (problem,) = problems
    assert (problem.rule, problem.path) == ("chain.fallback-slot", f"{BASE}.fallback1")
    assert problem.found == "fallback1 and fallback, both fallback slot 1"
    assert "fallback2" not in problem.found


def test_leading_zero_is_a_finding():
    """fallback02 is refused (it would collide with fallback2), and the chain still reads."""
    refs, problems = _parse({"primary": "a/x", "fallback": "b/y", "fallback02": "c/z"})
    assert refs == ["a/x", "b/y"]
    assert [(p.rule, p.path) for p in problems] == [("chain.fallback-slot", f"{BASE}.fallback02")]


def test_consecutive_slots_are_clean():
    """fallback1, fallback2, fallback3 (and fallback, fallback2) read in slot order, no finding."""
    assert _parse({"primary": "a/x", "fallback2": "c/z", "fallback1": "b/y"}) == (
        ["a/x", "b/y", "c/z"],
        [],
    )
    assert _parse(
        {
            "primary": "a/x",
            "fallback10": "k/k",
            **{f"fallback{i}" if i > 1 else "fallback": f"p{i}/m" for i in range(1, 10)},
        }
    )[0] == ["a/x", *(f"p{i}/m" for i in range(1, 10)), "k/k"]


def test_validate_refuses_fallback0(load_doc):
    """Through the loader: the standalone chain with fallback0 is invalid at that key."""
    from tests.fixtures.config import base_standalone

    doc = base_standalone()
    model = doc["agents"]["defaults"]["model"]
    del model["fallbacks"]
    model["fallback0"] = "openai/gpt-5.4-mini"
    result = load_doc(doc)
    assert result.table is None
    assert [(p.rule, p.path) for p in result.errors] == [
        ("chain.fallback-slot", "agents.defaults.model.fallback0")
    ]
