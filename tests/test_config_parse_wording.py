"""What an operator reads when the config file does not parse, is empty, is missing or is not
an object: the file, the line and column, the likely cause, and a fix that fits the case."""

from __future__ import annotations

import json

import pytest

from openclaw_failover.config import load_route_table


def _only(result):
    (problem,) = result.problems
    return problem


def test_a_syntax_error_names_line_and_column_not_the_parsers_placeholder(tmp_path, config_env):
    path = tmp_path / "openclaw.json5"
    path.write_text("{\n  failover: { mode: 'provider' }\n  models: {},\n}\n")
    problem = _only(load_route_table(path, environ=config_env))
    assert problem.rule == "file.parse"
    assert "<string>" not in problem.found
    assert problem.found == f'{path}, line 3, column 3: unexpected "m"'
    assert problem.fix == "fix the syntax at that line and column"


def test_a_brace_left_open_says_so(tmp_path, config_env):
    path = tmp_path / "openclaw.json5"
    path.write_text('{\n  agents: { defaults: { model: { primary: "a/b" } }\n')
    problem = _only(load_route_table(path, environ=config_env))
    assert problem.found.startswith(f"{path}, line 3, column 1: unexpected end of input")
    assert "left open" in problem.fix
    assert "}" in problem.fix


@pytest.mark.parametrize(
    ("text", "said"),
    [("", "is empty"), ("  \n\t", "is empty"), ("// TODO\n/* later */\n", "holds only comments")],
)
def test_an_empty_file_is_called_empty(tmp_path, config_env, text, said):
    """There is no position to show: the fix says what to write instead."""
    path = tmp_path / "openclaw.json"
    path.write_text(text)
    problem = _only(load_route_table(path, environ=config_env))
    assert problem.rule == "file.parse"
    assert problem.found == f"{path}: the file {said}, no settings"
    assert problem.fix == "write the settings as one JSON5 object: { ... }"


def test_a_missing_config_says_how_its_path_was_chosen(tmp_path, config_env):
    """It may have come from --config, the environment or the default: "pass --config" was
    wrong advice when --config had been passed."""
    problem = _only(load_route_table(tmp_path / "nope.json5", environ=config_env))
    assert problem.rule == "file.missing"
    assert "--config if given" in problem.fix
    assert "$OPENCLAW_CONFIG_PATH" in problem.fix
    assert "pass --config" not in problem.fix


def test_a_missing_include_points_at_the_include(tmp_path, config_env):
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps({"failover": {"$include": "./gone.json5"}}))
    problem = next(p for p in load_route_table(path, environ=config_env).problems)
    assert problem.rule == "file.missing"
    assert problem.fix == "check the $include path; it is relative to the including file's folder"


@pytest.mark.parametrize(
    ("text", "found"),
    [("[1, 2]", "a list"), ('"x"', "a string"), ("3", "a number"), ("null", "null")],
)
def test_a_root_that_is_not_an_object_is_described_in_words(tmp_path, config_env, text, found):
    path = tmp_path / "openclaw.json"
    path.write_text(text)
    problem = _only(load_route_table(path, environ=config_env))
    assert (problem.rule, problem.found) == ("file.not-object", found)
