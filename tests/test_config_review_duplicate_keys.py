"""A key written twice in one object: the last wins, as in OpenClaw, and a warning names it."""

from __future__ import annotations

import json

from tests.fixtures.config import base_standalone

CHAIN_TWICE_JSON5 = """{
  // the second primary was pasted in and silently replaced the first
  agents: { defaults: { model: {
    primary: "anthropic/claude-opus-4-6",
    fallbacks: ["ollama/qwen3:8b"],
    primary: 'openai/gpt-5.4-mini',
  } } },
  providers: { anthropic: { auth: [{ key: "${ANTHROPIC_API_KEY}" }] } },
  models: { providers: { ollama: { api: "ollama", baseUrl: "http://127.0.0.1:11434",
                                   apiKey: "ollama-local" } } },
  failover: {},
}
"""


def test_json5_duplicate_is_a_warning_at_its_path(load_doc):
    """JSON5 text: the last primary is used and the repeat is a warning at the key's path."""
    result = load_doc(CHAIN_TWICE_JSON5)
    assert result.table is not None
    assert result.table.routes["auto"].candidates[0].ref == "openai/gpt-5.4-mini"
    assert [(p.rule, p.path, p.severity) for p in result.problems] == [
        ("file.duplicate-key", "agents.defaults.model.primary", "warning")
    ]


def test_plain_json_duplicate_is_reported(load_doc):
    """Plain JSON text (json.loads keeps the last value silently too) is checked the same way."""
    text = json.dumps(base_standalone(), indent=2)
    text = text.replace('"failover": {}', '"failover": {"mode": "plugin", "mode": "provider"}')
    result = load_doc(text)
    assert [(p.rule, p.path) for p in result.problems] == [("file.duplicate-key", "failover.mode")]
    assert result.table is not None
    assert result.table.settings.mode == "provider"


def test_duplicate_in_include_names_the_merged_path(write_config, load_doc):
    """A repeat inside an included file is reported where it lands in the document."""
    write_config("{ proxy: { port: 8787, port: 8788 } }", name="part.json5")
    doc = base_standalone()
    doc["failover"] = {"$include": "./part.json5"}
    result = load_doc(json.dumps(doc))
    assert [(p.rule, p.path) for p in result.problems] == [
        ("file.duplicate-key", "failover.proxy.port")
    ]


def test_no_duplicate_no_warning(load_doc):
    """Same key names in different objects are not repeats."""
    doc = base_standalone()
    doc["failover"] = {"deadlines": {"streamIdleS": 15}, "retries": {"inlineWaitMaxS": 1}}
    assert load_doc(json.dumps(doc)).problems == ()
