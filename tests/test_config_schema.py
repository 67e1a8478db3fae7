"""The JSON Schemas: valid draft 2020-12, accept the design's block, and report violations well."""

from __future__ import annotations

import json
from pathlib import Path

import json5
import pytest
from jsonschema import Draft202012Validator

from openclaw_failover.config._schema import SCHEMA_FILES, check_schema
from tests.fixtures.config import base_openclaw, base_standalone

ROOT = Path(__file__).resolve().parents[1]

#: The plugin block exactly as the design writes it (key names are fixed there).
DESIGN_BLOCK = """{
  model: { primary: "anthropic/claude-opus-4-6",
           fallbacks: ["openai/gpt-5.4-mini", "ollama/qwen3:8b"] },
  routes: { batch: { primary: "openai/gpt-5.4-mini", fallbacks: ["ollama/qwen3:8b"] } },
  providers: { anthropic: {
    auth: [{ key: "${ANTHROPIC_API_KEY}", profile: "team" }, { key: "${ANTHROPIC_API_KEY_2}" }],
    baseUrl: "https://api.anthropic.com", api: "anthropic-messages", maxConcurrent: 16 } },
  mode: "provider",
  tiers: { local: ["ollama", "llamacpp/smollm2"] },
  deadlines: { interactiveFirstTokenS: 45, batchFirstTokenS: 90, localFirstTokenS: 120,
               streamIdleS: 15, intentBudgetS: 150, maxRequestDeadlineS: 300 },
  retries: { maxAttemptsPerKey: 2, maxAttemptsPerIntent: 8, inlineWaitMaxS: 2 },
  sidecar: { command: ["openclaw-failover", "sidecar"], timeoutMs: 2000 },
  cooldowns: { rate_limit: { baseS: 30, capS: 600 } },
  tools: { highRisk: ["exec"], alsoHighRisk: [], allowOnLocal: [] },
  state: { backend: "file", url: "${REDIS_URL}", namespace: "openclaw-failover",
           onUnavailable: "local" },
  audit: { path: "/var/lib/failover/audit.jsonl", maxBytes: 104857600, keep: 5 },
  proxy: { host: "127.0.0.1", port: 8787, token: "${OPENCLAW_FAILOVER_TOKEN}",
           maxBodyBytes: 8388608 },
  alerts: { hardStopShare: 0.15, localShare: 0.35 },
  bannedModels: [],
  probeIntervalS: 0,
  allowRemoteLocal: false,
}"""


def _schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / SCHEMA_FILES[name]).read_text())


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_schemas_are_valid_draft_2020_12(name):
    """Each schema declares draft 2020-12 and passes the metaschema."""
    schema = _schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_plugin_schema_is_self_contained():
    """The plugin block's schema has no outside $ref, so it can be the manifest's configSchema."""
    text = json.dumps(_schema("plugin"))
    refs = [part.split('"')[0] for part in text.split('"$ref": "')[1:]]
    assert refs
    assert all(ref.startswith("#/") for ref in refs)


def test_design_block_is_accepted():
    """The design's full plugin block validates against the plugin schema."""
    errors = list(Draft202012Validator(_schema("plugin")).iter_errors(json5.loads(DESIGN_BLOCK)))
    assert errors == []


def test_base_documents_pass():
    """The fixtures' standalone and OpenClaw documents have no schema finding."""
    assert check_schema(base_standalone(), "standalone") == []
    assert check_schema(base_openclaw(), "openclaw") == []


def _block_problems(**changes):
    doc = base_openclaw()
    doc["plugins"]["entries"]["openclaw-failover"]["config"].update(changes)
    return check_schema(doc, "openclaw")


BLOCK = "plugins.entries.openclaw-failover.config"


@pytest.mark.parametrize(
    ("changes", "rule", "path", "found", "near"),
    [
        (
            {"probeInterval": 5},
            "schema.additionalProperties",
            BLOCK,
            "unknown key(s) probeInterval",
            {"probeIntervalS": 5},
        ),
        (
            {"mode": "proxy"},
            "schema.enum",
            f"{BLOCK}.mode",
            "the string 'proxy'",
            {"mode": "plugin"},
        ),
        (
            {"deadlines": {"streamIdleS": "15"}},
            "schema.type",
            f"{BLOCK}.deadlines.streamIdleS",
            "a string",
            {"deadlines": {"streamIdleS": 15}},
        ),
        (
            {"deadlines": {"streamIdleS": 0}},
            "schema.exclusiveMinimum",
            f"{BLOCK}.deadlines.streamIdleS",
            "the number 0",
            {"deadlines": {"streamIdleS": 0.5}},
        ),
        (
            {"cooldowns": {"ratelimit": {}}},
            "schema.additionalProperties",
            f"{BLOCK}.cooldowns",
            "unknown key(s) ratelimit",
            {"cooldowns": {"rate_limit": {}}},
        ),
        (
            {"routes": {"auto": "openai/gpt-5.4-mini"}},
            "schema.not",
            f"{BLOCK}.routes",
            "the string 'auto'",
            {"routes": {"batch": "openai/gpt-5.4-mini"}},
        ),
        (
            {"model": {"primary": "a/b", "fallback2": 3}},
            "schema.type",
            f"{BLOCK}.model.fallback2",
            "the number 3",
            {"model": {"primary": "a/b", "fallback2": "c/d"}},
        ),
        (
            {"proxy": {"port": 70000}},
            "schema.maximum",
            f"{BLOCK}.proxy.port",
            "the number 70000",
            {"proxy": {"port": 65535}},
        ),
    ],
)
def test_schema_findings(changes, rule, path, found, near):
    """A violation names its rule, JSON path and what was found; the near miss is clean."""
    problems = _block_problems(**changes)
    assert [(p.rule, p.path, p.found) for p in problems] == [(rule, path, found)]
    assert problems[0].expected
    assert "schemas/openclaw-checked.schema.json" in problems[0].fix
    assert _block_problems(**near) == []


def test_secret_fields_are_never_echoed():
    """A wrongly typed key or token is described by its type, never by its value."""
    doc = base_standalone()
    doc["providers"]["anthropic"]["auth"][0]["key"] = 918273645
    doc["failover"] = {"proxy": {"token": 55501234}}
    problems = check_schema(doc, "standalone")
    assert {p.found for p in problems} == {"a value of type int"}
    assert not any("918273645" in p.message or "55501234" in p.message for p in problems)


def test_standalone_root_is_closed():
    """An unknown root key in a standalone file is reported at $."""
    doc = base_standalone()
    doc["gatewayy"] = {}
    (problem,) = check_schema(doc, "standalone")
    assert (problem.rule, problem.path, problem.found) == (
        "schema.additionalProperties",
        "$",
        "unknown key(s) gatewayy",
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"proxy": {"port": "8787"}}, "an integer"),
        ({"deadlines": 5}, "an object"),
        ({"state": {"namespace": 1}}, "a string"),
    ],
)
def test_expected_type_has_the_right_article(changes, expected):
    """A type error says "an integer" / "an object" (was "a integer" / "a object")."""
    (problem,) = _block_problems(**changes)
    assert (problem.rule, problem.expected) == ("schema.type", expected)


def test_fix_points_at_a_schema_file_that_exists():
    """The fix names the schema where it really is (an installed package has no schemas/)."""
    (problem,) = _block_problems(proxy={"port": 70000})
    prefix = "see the schema "
    assert problem.fix.startswith(prefix)
    shown = Path(problem.fix.removeprefix(prefix))
    assert shown.is_absolute()
    assert shown.is_file()
    assert shown.name == SCHEMA_FILES["openclaw"]
