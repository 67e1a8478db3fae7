"""NaN and Infinity (valid JSON5) are refused in every number of the config, at their path."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from openclaw_failover.config import RULE_IDS
from openclaw_failover.config._finite import check_finite
from tests.fixtures.config import base_openclaw, base_standalone


def _non_finite(result):
    return {(p.path, p.found, p.expected) for p in result.problems if p.severity == "error"}


def test_nan_deadlines_are_errors_at_their_paths(load_doc):
    """NaN deadlines (which hard-stopped every request) make the file invalid, one error each."""
    text = json.dumps(base_standalone()).replace(
        '"failover": {}',
        '"failover": {deadlines: {interactiveFirstTokenS: NaN, intentBudgetS: NaN}}',
    )
    result = load_doc(text)
    assert result.table is None
    assert _non_finite(result) == {
        ("failover.deadlines.interactiveFirstTokenS", "NaN", "a finite number"),
        ("failover.deadlines.intentBudgetS", "NaN", "a finite number"),
    }
    assert {p.rule for p in result.errors} == {"number.non-finite"}


@pytest.mark.parametrize("word", ["Infinity", "-Infinity", "+Infinity"])
def test_infinite_budget_is_an_error(load_doc, word):
    """An infinite intentBudgetS (which overflowed later) is refused, named as written."""
    text = json.dumps(base_standalone()).replace(
        '"failover": {}', f'"failover": {{deadlines: {{intentBudgetS: {word}}}}}'
    )
    result = load_doc(text)
    assert result.table is None
    found = "-Infinity" if word.startswith("-") else "Infinity"
    (problem,) = [p for p in result.errors if p.path == "failover.deadlines.intentBudgetS"]
    assert (problem.rule, problem.found) == ("number.non-finite", found)


def test_every_number_is_checked_in_openclaws_own_file(load_doc):
    """Cooldowns, retries, ports, windows and model fields are all covered, each by path."""
    doc = base_openclaw()
    cfg = doc["plugins"]["entries"]["openclaw-failover"]["config"]
    cfg["cooldowns"] = {"rate_limit": {"baseS": math.inf}}
    cfg["retries"] = {"maxAttemptsPerKey": math.nan}
    cfg["proxy"] = {"port": math.inf}
    cfg["failureWindowS"] = -math.inf
    doc["models"]["providers"]["ollama"]["models"] = [{"id": "qwen3:8b", "contextWindow": math.nan}]
    result = load_doc(json.dumps(doc), name="openclaw.json")
    base = "plugins.entries.openclaw-failover.config"
    paths = {p.path for p in result.errors if p.rule == "number.non-finite"}
    assert paths == {
        f"{base}.cooldowns.rate_limit.baseS",
        f"{base}.retries.maxAttemptsPerKey",
        f"{base}.proxy.port",
        f"{base}.failureWindowS",
        "models.providers.ollama.models[0].contextWindow",
    }
    assert result.table is None


def test_finite_numbers_pass_and_nested_lists_are_walked():
    """Plain numbers give nothing; a NaN inside a list is found by index."""
    assert check_finite({"a": 1, "b": [2.5, {"c": 0}], "d": True, "e": "NaN"}) == []
    (problem,) = check_finite({"a": [1, [math.nan]]})
    assert (problem.path, problem.found) == ("a[1][0]", "NaN")
    assert "number.non-finite" in RULE_IDS


def test_nan_provider_timeout_is_not_compared(load_doc):
    """A NaN failover timeoutSeconds is one non-finite error, not a misleading comparison."""
    doc = base_openclaw()
    doc["models"]["providers"]["failover"] = {
        "baseUrl": "http://127.0.0.1:18790/v1",
        "api": "openai-completions",
        "timeoutSeconds": math.nan,
    }
    result = load_doc(json.dumps(doc), name="openclaw.json")
    rules = [p.rule for p in result.errors if "timeoutSeconds" in p.path]
    assert rules == ["number.non-finite"]


def test_validate_reports_nan_and_exits_2(write_config, config_env):
    """`validate` prints the path, NaN and "a finite number", and exits 2 (was: valid)."""
    text = json.dumps(base_standalone()).replace(
        '"failover": {}', '"failover": {deadlines: {intentBudgetS: NaN}}'
    )
    path = write_config(text)
    result = CliRunner().invoke(app, ["validate", "--config", str(path)], env=config_env)
    assert result.exit_code == 2, result.output
    assert "error [number.non-finite] failover.deadlines.intentBudgetS" in result.output
    assert "    found:    NaN" in result.output
    assert "    expected: a finite number" in result.output
    as_json = CliRunner().invoke(app, ["validate", "--json", "--config", str(path)], env=config_env)
    report = json.loads(as_json.output)
    assert report["valid"] is False
