"""Route-table version and normalisation properties (hypothesis): what changes it, what cannot."""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_failover.config import LoadResult, load_route_table, route_table_version
from openclaw_failover.config._render import render_standalone
from openclaw_failover.config._version import canonical_table

PROVIDERS = ["anthropic", "openai", "openrouter", "groq", "mistral"]
MODELS = ["m-small", "m-large", "vendor/m-x", "qwen3:8b"]


@st.composite
def documents(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    """A valid standalone document and the environment holding its keys."""
    refs = draw(
        st.lists(
            st.tuples(st.sampled_from(PROVIDERS), st.sampled_from(MODELS)).map("/".join),
            min_size=2,
            max_size=6,
            unique=True,
        )
    )
    env: dict[str, str] = {}
    providers: dict[str, Any] = {}
    for pid in sorted({r.split("/", 1)[0] for r in refs}):
        count = draw(st.integers(min_value=1, max_value=3))
        auth = []
        for i in range(count):
            var = f"{pid.upper()}_K{i}"
            env[var] = draw(st.text("abcdef0123456789", min_size=8, max_size=16))
            entry: dict[str, Any] = {"key": "${" + var + "}"}
            if draw(st.booleans()):
                entry["profile"] = f"p{i}"
            auth.append(entry)
        providers[pid] = {"auth": auth}
        if draw(st.booleans()):
            providers[pid]["maxConcurrent"] = draw(st.integers(1, 64))
    budget = draw(st.integers(150, 300))
    doc = {
        "agents": {"defaults": {"model": {"primary": refs[0], "fallbacks": refs[1:]}}},
        "providers": providers,
        "models": {"providers": {"ollama": {"api": "ollama", "apiKey": "ollama-local"}}},
        "failover": {
            "deadlines": {"intentBudgetS": budget, "streamIdleS": draw(st.integers(5, 60))},
            "retries": {"maxAttemptsPerKey": draw(st.integers(1, 4))},
        },
    }
    if draw(st.booleans()):
        doc["agents"]["defaults"]["model"]["fallbacks"].append("ollama/qwen3:8b")
    return doc, env


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def _json5(doc: Any, depth: int = 0) -> str:
    """JSON5 text with comments, unquoted keys and trailing commas."""
    pad = "  " * (depth + 1)
    if isinstance(doc, dict):
        body = "".join(
            f"{pad}// note\n{pad}{k if k.isidentifier() else json.dumps(k)}: "
            f"{_json5(v, depth + 1)},\n"
            for k, v in doc.items()
        )
        return "{\n" + body + "  " * depth + "}"
    if isinstance(doc, list):
        return "[" + " ".join(f"{_json5(v, depth + 1)}," for v in doc) + "]"
    return json.dumps(doc)


def _load(text: str, env: dict[str, str], *, state: str | None = None) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "failover.json5"
        path.write_text(text)
        environ = {"HOME": tmp, "OPENCLAW_STATE_DIR": state or str(Path(tmp) / "s"), **env}
        return load_route_table(path, environ=environ)


def _version(doc: dict[str, Any], env: dict[str, str]) -> str:
    result = _load(json.dumps(doc), env)
    assert result.table is not None, [p.message for p in result.problems]
    return result.table.version


@settings(max_examples=40, deadline=None)
@given(documents(), st.randoms(use_true_random=False))
def test_version_ignores_format_key_order_and_comments(case, rng):
    """Reformatting, reordering object keys and adding comments keep the version."""
    doc, env = case
    text = _json5(_shuffled(doc, rng))
    result = _load(text, env)
    assert result.table is not None
    assert result.table.version == _version(doc, env)


@settings(max_examples=40, deadline=None)
@given(documents(), st.text("ghijkl", min_size=8, max_size=12))
def test_version_ignores_secret_values(case, new_value):
    """Changing every key's value keeps the version (and the state folder does not count)."""
    doc, env = case
    rotated = {k: new_value + k for k in env}
    with tempfile.TemporaryDirectory() as other_state:
        result = _load(json.dumps(doc), rotated, state=other_state)
    assert result.table.version == _version(doc, env)


@settings(max_examples=40, deadline=None)
@given(documents(), st.data())
def test_version_changes_with_chain_order(case, data):
    """Swapping two chain entries changes the version."""
    doc, env = case
    model = doc["agents"]["defaults"]["model"]
    refs = [model["primary"], *model["fallbacks"]]
    i, j = data.draw(st.sampled_from([(a, b) for a in range(len(refs)) for b in range(a)]))
    swapped = json.loads(json.dumps(doc))
    refs[i], refs[j] = refs[j], refs[i]
    swapped["agents"]["defaults"]["model"] = {"primary": refs[0], "fallbacks": refs[1:]}
    if "ollama/qwen3:8b" in (refs[i], refs[j]):
        return  # the local tier always goes last, so moving it changes no route
    assert _version(swapped, env) != _version(doc, env)


@settings(max_examples=40, deadline=None)
@given(documents())
def test_version_changes_with_auth_order(case):
    """Reversing a provider's auth[] (two or more keys) changes the version."""
    doc, env = case
    multi = [p for p, spec in doc["providers"].items() if len(spec["auth"]) > 1]
    if not multi:
        return
    changed = json.loads(json.dumps(doc))
    changed["providers"][multi[0]]["auth"].reverse()
    assert _version(changed, env) != _version(doc, env)


@settings(max_examples=30, deadline=None)
@given(documents())
def test_normalising_is_idempotent(case):
    """Loading the table written back as a document gives the same table and version."""
    doc, env = case
    first = _load(json.dumps(doc), env)
    rendered = render_standalone(first.table)
    second = _load(json.dumps(rendered), env)
    assert second.table is not None, [p.message for p in second.problems]
    assert canonical_table(second.table) == canonical_table(first.table)
    assert second.table.version == first.table.version
    assert render_standalone(second.table) == rendered


def test_version_is_short_hex_and_recomputable(load_doc):
    """The version is 12 hex digits and equals route_table_version of the table."""
    from tests.fixtures.config import base_standalone

    table = load_doc(base_standalone()).table
    assert len(table.version) == 12
    int(table.version, 16)
    assert route_table_version(dataclasses.replace(table, version="")) == table.version
