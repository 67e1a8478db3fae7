"""Deeply nested config text is a file.too-deep finding and exit 2, never a RecursionError."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from tests.fixtures.config import base_standalone

MAX_NESTING = 64  # config._source.MAX_NESTING (a literal here, so the old code fails the tests)


def _nested(levels: int) -> dict[str, object]:
    inner: dict[str, object] = {}
    for _ in range(levels - 1):
        inner = {"a": inner}
    return inner


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # plain JSON: the C decoder recurses
        "{a:" * 5_000 + "1" + "}" * 5_000,  # JSON5: the pure-Python parser recurses
    ],
    ids=["json", "json5"],
)
def test_deep_text_is_a_finding(text, load_doc):
    """Text nested past Python's recursion limit is reported at $, not raised."""
    result = load_doc(text)
    assert result.table is None
    assert [(p.rule, p.path) for p in result.errors] == [("file.too-deep", "$")]


def test_deep_but_parseable_value_is_a_finding(load_doc):
    """A value that parses but nests 500 levels would crash the schema walk: refused first."""
    doc = base_standalone()
    doc["failover"]["tools"] = _nested(500)
    result = load_doc(json.dumps(doc))
    assert [(p.rule, p.path) for p in result.errors] == [("file.too-deep", "$")]


def test_nesting_at_the_limit_still_loads(load_doc):
    """MAX_NESTING levels are fine: the limit refuses only what is deeper."""
    doc = base_standalone()
    doc["env"] = {"vars": {}}
    doc["failover"]["routes"] = {}
    doc["models"]["providers"]["ollama"]["x"] = _nested(MAX_NESTING - 4)
    result = load_doc(json.dumps(doc))
    assert not [p for p in result.errors if p.rule == "file.too-deep"]


def test_deep_include_is_a_finding(write_config, load_doc):
    """Depth added up across $include files is refused too, at the include's path."""
    write_config(json.dumps(_nested(MAX_NESTING)), name="deep.json5")
    doc = base_standalone()
    doc["failover"] = {"state": {"$include": "./deep.json5"}}
    result = load_doc(json.dumps(doc))
    assert result.table is None
    assert ("file.too-deep", "$") in [(p.rule, p.path) for p in result.errors]


def test_validate_exits_2_on_deep_text(write_config, config_env):
    """validate: exit 2 with the finding (a 3 a.m. script tells "invalid" from "crashed")."""
    path = write_config("[" * 100_000 + "]" * 100_000)
    result = CliRunner().invoke(app, ["validate", "--config", str(path)], env=config_env)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2, result.output
    assert "error [file.too-deep] $" in result.output
