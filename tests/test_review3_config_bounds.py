"""Durations and counts far beyond any sane use draw a warning (settings.implausible) naming
the field, the value, the bound and the likely typo; the config still loads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openclaw_failover.config import RULE_IDS, LoadResult
from tests.fixtures.config import base_openclaw, base_standalone

Load = Callable[..., LoadResult]
BLOCK = "plugins.entries.openclaw-failover.config"


def _load(load_doc: Load, settings: dict[str, Any]) -> LoadResult:
    doc = base_openclaw()
    doc["plugins"]["entries"]["openclaw-failover"]["config"].update(settings)
    return load_doc(doc, name="openclaw.json")


def _warnings(result: LoadResult) -> dict[str, str]:
    return {p.path: p.message for p in result.problems if p.rule == "settings.implausible"}


@pytest.mark.parametrize(
    ("settings", "path", "bound"),
    [
        (
            {"deadlines": {"interactiveFirstTokenS": 30000}},
            "deadlines.interactiveFirstTokenS",
            "3600",
        ),
        ({"deadlines": {"streamIdleS": 1500}}, "deadlines.streamIdleS", "600"),
        ({"deadlines": {"maxRequestDeadlineS": 86400}}, "deadlines.maxRequestDeadlineS", "3600"),
        ({"retries": {"inlineWaitMaxS": 86400}}, "retries.inlineWaitMaxS", "600"),
        ({"retries": {"maxAttemptsPerKey": 1000000}}, "retries.maxAttemptsPerKey", "20"),
        ({"retries": {"maxAttemptsPerIntent": 8000}}, "retries.maxAttemptsPerIntent", "100"),
        ({"cooldowns": {"billing": {"capS": 1e12}}}, "cooldowns.billing.capS", "604800"),
        ({"cooldowns": {"auth": {"baseS": 3e6}}}, "cooldowns.auth.baseS", "604800"),
        ({"sidecar": {"timeoutMs": 2000000}}, "sidecar.timeoutMs", "60000"),
        ({"audit": {"keep": 50000}}, "audit.keep", "100"),
        ({"failureWindowS": 8.64e7}, "failureWindowS", "2592000"),
        ({"probeIntervalS": 3e6}, "probeIntervalS", "86400"),
    ],
)
def test_a_value_past_its_bound_is_a_warning(
    load_doc: Load, settings: dict[str, Any], path: str, bound: str
) -> None:
    result = _load(load_doc, settings)
    found = _warnings(result)
    assert list(found) == [f"{BLOCK}.{path}"]
    (problem,) = [p for p in result.problems if p.rule == "settings.implausible"]
    assert problem.severity == "warning"
    assert path.rsplit(".", 1)[-1] in problem.found
    assert f"at most {bound}" in problem.expected
    assert "typo" in problem.fix
    assert problem not in result.errors  # deadlines past intentBudgetS are errors of their own


def test_the_likely_typo_is_named(load_doc: Load) -> None:
    result = _load(
        load_doc,
        {"deadlines": {"interactiveFirstTokenS": 30000}, "retries": {"maxAttemptsPerKey": 200}},
    )
    found = _warnings(result)
    assert "30000" in found[f"{BLOCK}.deadlines.interactiveFirstTokenS"]
    assert "30 " in found[f"{BLOCK}.deadlines.interactiveFirstTokenS"]  # ms written as s
    assert "milliseconds" in found[f"{BLOCK}.deadlines.interactiveFirstTokenS"]
    assert "did you mean 20?" in found[f"{BLOCK}.retries.maxAttemptsPerKey"]


def test_provider_concurrency_past_its_bound(load_doc: Load) -> None:
    doc = base_openclaw()
    providers = doc["plugins"]["entries"]["openclaw-failover"]["config"]["providers"]
    providers["anthropic"]["maxConcurrent"] = 160000
    result = load_doc(doc, name="openclaw.json")
    assert list(_warnings(result)) == [f"{BLOCK}.providers.anthropic.maxConcurrent"]
    assert result.table is not None  # a warning: the config still loads


def test_standalone_paths_and_values_at_the_bound(load_doc: Load) -> None:
    doc = base_standalone()
    doc["failover"] = {
        "deadlines": {"intentBudgetS": 3600, "maxRequestDeadlineS": 3600},
        "retries": {"maxAttemptsPerKey": 20, "inlineWaitMaxS": 600, "maxAttemptsPerIntent": 100},
        "cooldowns": {"billing": {"capS": 604800, "baseS": 600}},
        "sidecar": {"timeoutMs": 60000},
    }
    assert _warnings(load_doc(doc)) == {}
    doc["failover"]["retries"]["maxAttemptsPerKey"] = 21
    result = load_doc(doc)
    assert list(_warnings(result)) == ["failover.retries.maxAttemptsPerKey"]
    assert result.errors == ()
    assert result.table is not None


def test_defaults_and_sane_values_draw_nothing(load_doc: Load) -> None:
    assert _load(load_doc, {}).problems == ()
    assert "settings.implausible" in RULE_IDS
