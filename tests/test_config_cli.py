"""validate and migrate: exit codes, every problem at once, JSON, and no secret in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from tests.fixtures.config import FAKE_KEYS, base_openclaw, base_standalone

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_KEYS = {**FAKE_KEYS, "OPENROUTER_API_KEY": "sk-or-FAKE-router-4Hh7"}
INLINE = "sk-ant-FAKE-inline-secret-8Rt5"
ENV_VARS_SECRET = "sk-FAKE-env-vars-secret-2Wq9"


def _run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


@pytest.mark.parametrize("name", ["openclaw.json5", "failover.json5"])
def test_examples_validate_clean(name, config_env):
    """Both examples are valid with no warning and print the route-table version."""
    result = _run(["validate", "--config", str(EXAMPLES / name)], {**config_env, **EXAMPLE_KEYS})
    assert result.exit_code == 0, result.output
    assert "valid: 0 error(s), 0 warning(s); route table version" in result.output


def test_examples_share_one_version(config_env):
    """The OpenClaw-own example and the standalone one route the same: same version."""
    env = {**config_env, **EXAMPLE_KEYS}
    versions = {
        json.loads(_run(["validate", "--json", "--config", str(EXAMPLES / n)], env).output)[
            "route_table_version"
        ]
        for n in ("openclaw.json5", "failover.json5")
    }
    assert len(versions) == 1


def test_validate_json_report(write_config, config_env):
    """--json carries the verdict, the version, counts and each problem's fields."""
    doc = base_standalone()
    doc["models"]["providers"]["ollama"]["baseUrl"] = "http://127.0.0.1:11434/v1"
    path = write_config(doc)
    result = _run(["validate", "--json", "--config", str(path)], config_env)
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["valid"] is True
    assert len(report["route_table_version"]) == 12
    assert (report["errors"], report["warnings"]) == (0, 1)
    (problem,) = report["problems"]
    assert problem["rule"] == "ollama.v1-path"
    assert problem["path"] == "models.providers.ollama.baseUrl"
    assert set(problem) == {"rule", "severity", "path", "found", "expected", "fix", "message"}


def test_validate_lists_every_problem_and_exits_2(write_config, config_env):
    """Errors: exit 2; each problem with rule, path, found, expected and fix, all at once."""
    doc = base_standalone()
    doc["agents"]["defaults"]["model"] = {
        "primary": "anthropic/claude-opus-4-6",
        "fallback": "openai/gpt-5.4-mini",
        "fallback3": "nope/x",
    }
    path = write_config(doc)
    result = _run(["validate", "--config", str(path)], config_env)
    assert result.exit_code == 2
    out = result.output
    assert "error [chain.fallback-gap] agents.defaults.model.fallback3" in out
    assert "error [chain.drift] agents.defaults.model.fallback3" in out
    assert "    found:    fallback3 without fallback2" in out
    assert "    expected: fallback2 before fallback3" in out
    assert "    fix:      rename fallback3 to fallback2, or add fallback2" in out
    assert "invalid: 2 error(s)" in out
    report = json.loads(_run(["validate", "--json", "--config", str(path)], config_env).output)
    assert report["valid"] is False
    assert report["route_table_version"] is None


def test_validate_missing_file_and_bad_kind(tmp_path, config_env):
    """A missing file is a file.missing error (exit 2); a bad --kind exits 2 with a message."""
    result = _run(["validate", "--config", str(tmp_path / "none.json5")], config_env)
    assert result.exit_code == 2
    assert "[file.missing]" in result.output
    bad = _run(["validate", "--kind", "both", "--config", str(tmp_path / "x")], config_env)
    assert bad.exit_code == 2
    assert "kind must be one of" in bad.output


def test_validate_defaults_to_openclaws_file(tmp_path, config_env):
    """Without --config, validate reads $OPENCLAW_STATE_DIR/openclaw.json as OpenClaw's own."""
    state = Path(config_env["OPENCLAW_STATE_DIR"])
    state.mkdir()
    (state / "openclaw.json").write_text(json.dumps(base_openclaw()))
    result = _run(["validate", "--json"], config_env)
    report = json.loads(result.output)
    assert (report["kind"], report["valid"]) == ("openclaw", True)


def _secret_config(write_config) -> Path:
    doc = base_openclaw()
    block = doc["plugins"]["entries"]["openclaw-failover"]["config"]
    doc["providers"] = block.pop("providers")
    doc["providers"]["anthropic"]["auth"].append({"key": INLINE})
    doc["agents"]["defaults"]["model"] = {
        "primary": "anthropic/claude-opus-4-6",
        "fallback": "openai/gpt-5.4-mini",
        "fallback2": "ollama/qwen3:8b",
    }
    doc["env"] = {"vars": {"EXTRA_TOKEN": ENV_VARS_SECRET}}
    return write_config(doc, "openclaw.json")


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["validate", "--json"],
        ["migrate"],
        ["migrate", "--json"],
        ["migrate", "--write"],
        ["migrate", "--json", "--write"],
    ],
)
def test_no_secret_in_any_output(args, write_config, config_env):
    """No key from the config, env.vars or the environment appears in validate/migrate output."""
    path = _secret_config(write_config)
    result = _run([*args, "--config", str(path)], config_env)
    shown = result.output
    assert "openclaw" in shown  # the command did run and print
    for secret in [INLINE, ENV_VARS_SECRET, *FAKE_KEYS.values()]:
        assert secret not in shown


def test_migrate_dry_run_changes_nothing(write_config, config_env):
    """Without --write, migrate prints the moves and a diff and leaves the file alone."""
    path = _secret_config(write_config)
    before = path.read_bytes()
    result = _run(["migrate", "--config", str(path)], config_env)
    assert result.exit_code == 0
    assert "move: providers -> plugins.entries.openclaw-failover.config.providers" in result.output
    assert '-  "providers": {' in result.output
    assert "comments and formatting are not kept" in result.output
    assert "dry run: add --write" in result.output
    assert path.read_bytes() == before


def test_migrate_write_backs_up_and_fixes(write_config, config_env):
    """--write keeps a byte-for-byte backup and leaves a file validate accepts."""
    path = _secret_config(write_config)
    before = path.read_bytes()
    result = _run(["migrate", "--json", "--write", "--config", str(path)], config_env)
    report = json.loads(result.output)
    assert report["written"] is True
    assert Path(report["backup"]).read_bytes() == before
    doc = json.loads(path.read_text())
    assert "providers" not in doc
    assert doc["agents"]["defaults"]["model"] == {
        "primary": "anthropic/claude-opus-4-6",
        "fallbacks": ["openai/gpt-5.4-mini", "ollama/qwen3:8b"],
    }
    block = doc["plugins"]["entries"]["openclaw-failover"]["config"]
    assert block["model"]["fallback2"] == "ollama/qwen3:8b"
    check = _run(["validate", "--json", "--config", str(path)], config_env)
    assert json.loads(check.output)["errors"] == 0


def test_migrate_nothing_to_do(write_config, config_env):
    """A clean OpenClaw file and a standalone file have nothing to migrate."""
    clean = write_config(base_openclaw(), "openclaw.json")
    assert "nothing to migrate" in _run(["migrate", "--config", str(clean)], config_env).output
    alone = write_config(base_standalone(), "failover.json5")
    out = _run(["migrate", "--config", str(alone)], config_env).output
    assert "not OpenClaw's own file" in out


def test_migrate_refuses_include(write_config, config_env):
    """migrate edits one file: a config with $include is refused with exit 2."""
    write_config('{ "anthropic": {} }', "p.json5")
    doc = base_openclaw()
    doc["providers"] = {"$include": "./p.json5"}
    path = write_config(doc, "openclaw.json")
    result = CliRunner().invoke(app, ["migrate", "--config", str(path)], env=config_env)
    assert result.exit_code == 2
    assert "uses $include" in result.output


def test_validate_json_masks_a_secret_that_json_escapes(write_config, config_env):
    """A key holding a quote and a backslash, substituted into a chain entry, is masked in
    --json too: masking the encoded text missed it (JSON writes it as \\" and \\\\)."""
    secret = 'sk-FAKE-quoted"back\\slash-77Yy'
    doc = base_standalone()
    doc["agents"]["defaults"]["model"]["primary"] = "nosuchprovider/${ODD_API_KEY}"
    path = write_config(doc)
    result = _run(
        ["validate", "--json", "--config", str(path)], {**config_env, "ODD_API_KEY": secret}
    )
    report = json.loads(result.output)
    assert report["problems"], result.output
    assert secret not in json.dumps(report)
    assert json.dumps(secret)[1:-1] not in result.output
    assert "sk-FAKE-quoted" not in result.output
