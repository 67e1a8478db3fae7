"""Loading: JSON5, $include, ${VAR}, env layers, kinds, discovery, keys and the normalised table."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from openclaw_failover._errors import ConfigError
from openclaw_failover._model import Tier
from openclaw_failover.config import (
    discover_config_path,
    load_fingerprint_salt,
    load_route_table,
    require_route_table,
    resolve_state_dir,
)
from tests.fixtures.config import FAKE_KEYS, base_openclaw, base_standalone


def _rules(result):
    return [p.rule for p in result.problems]


def test_base_standalone_loads_clean(load_doc):
    """The reference standalone file loads with no finding and a 12-hex version."""
    result = load_doc(base_standalone())
    assert result.problems == ()
    assert result.kind == "standalone"
    assert len(result.table.version) == 12
    refs = [c.ref for c in result.table.route("auto").candidates]
    assert refs == ["anthropic/claude-opus-4-6", "openai/gpt-5.4-mini", "ollama/qwen3:8b"]


def test_json5_comments_and_trailing_commas(load_doc):
    """JSON5 text with comments, unquoted keys and trailing commas loads."""
    text = """// my chain
    { agents: { defaults: { model: "openai/gpt-5.4-mini", }, }, /* done */ }"""
    result = load_doc(text)
    assert result.table is not None
    assert [c.ref for c in result.table.route("auto").candidates] == ["openai/gpt-5.4-mini"]


def test_parse_error_names_file_and_position(load_doc):
    """A syntax error is one file.parse problem naming the file, not a traceback."""
    result = load_doc("{ agents: ")
    assert result.table is None
    (problem,) = result.problems
    assert problem.rule == "file.parse"
    assert "failover.json5" in problem.found


def test_missing_file_is_a_problem(tmp_path, config_env):
    """A missing config is a file.missing problem."""
    result = load_route_table(tmp_path / "nope.json5", environ=config_env)
    assert _rules(result) == ["file.missing"]
    assert result.table is None


def test_include_single_and_array_deep_merged(load_doc, write_config):
    """$include loads one file or several, deep-merged in order, siblings winning."""
    write_config({"anthropic": {"auth": [{"key": "${ANTHROPIC_API_KEY}"}]}}, "a.json5")
    write_config({"openai": {"auth": [{"key": "${OPENAI_API_KEY}", "profile": "x"}]}}, "b.json5")
    doc = base_standalone()
    doc["providers"] = {"$include": ["./a.json5", "./b.json5"], "anthropic": {"maxConcurrent": 3}}
    result = load_doc(doc)
    assert result.problems == ()
    providers = result.table.providers
    assert providers["anthropic"].max_concurrent == 3
    assert [p.id for p in providers["anthropic"].profiles] == ["anthropic:0"]
    assert [p.id for p in providers["openai"].profiles] == ["openai:x"]


def test_include_outside_the_folder_is_refused(load_doc, tmp_path):
    """An include that leaves the config's folder is include.outside-root."""
    (tmp_path / "secret.json5").write_text("{}")
    doc = base_standalone()
    doc["failover"] = {"$include": "../secret.json5"}
    result = load_doc(doc)
    (problem,) = [p for p in result.problems if p.rule == "include.outside-root"]
    assert problem.path == "failover.$include"


def test_include_roots_env_allows_another_folder(load_doc, tmp_path):
    """OPENCLAW_INCLUDE_ROOTS lets an include reach a listed folder."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "f.json5").write_text("{ deadlines: { streamIdleS: 10 } }")
    doc = base_standalone()
    doc["failover"] = {"$include": str(extra / "f.json5")}
    result = load_doc(doc, env={"OPENCLAW_INCLUDE_ROOTS": str(extra)})
    assert result.problems == ()
    assert result.table.settings.deadlines.stream_idle_s == 10


def test_include_cycle_stops_at_depth(load_doc, write_config):
    """A self-including file ends in include.depth, not a hang."""
    write_config('{ "$include": "./loop.json5" }', "loop.json5")
    doc = base_standalone()
    doc["failover"] = {"$include": "./loop.json5"}
    assert "include.depth" in _rules(load_doc(doc))


def test_substitution_rules(load_doc):
    """Uppercase ${VAR} substitutes; $${VAR} escapes; lowercase never matches."""
    doc = base_standalone()
    doc["failover"] = {
        "state": {"namespace": "ns-${TEAM}-$${TEAM}-${team}"},
    }
    result = load_doc(doc, env={"TEAM": "blue"})
    assert result.table.settings.state.namespace == "ns-blue-${TEAM}-${team}"


def test_a_lower_case_reference_stays_literal_and_warns(load_doc):
    """${openai_api_key} never substitutes (OpenClaw matches upper-case names only), so it
    would go out literally, as the key: a warning names it and the upper-case spelling."""
    doc = base_standalone()
    doc["failover"] = {"state": {"namespace": "ns-${team}-$${escaped}"}}
    result = load_doc(doc, env={"TEAM": "blue"})
    (problem,) = result.problems
    assert (problem.rule, problem.path, problem.severity) == (
        "env.lowercase",
        "failover.state.namespace",
        "warning",
    )
    assert "${team}" in problem.message
    assert "${TEAM}" in problem.fix
    assert result.table.settings.state.namespace == "ns-${team}-$${escaped}"


def test_unset_variable_stays_literal_and_warns(load_doc):
    """A missing ${VAR} stays literal and draws env.unset at its path."""
    doc = base_standalone()
    doc["failover"] = {"state": {"namespace": "ns-${NOPE_UNSET}"}}
    result = load_doc(doc)
    (problem,) = result.problems
    assert (problem.rule, problem.path, problem.severity) == (
        "env.unset",
        "failover.state.namespace",
        "warning",
    )
    assert "NOPE_UNSET unset" in problem.message
    assert result.table.settings.state.namespace == "ns-${NOPE_UNSET}"


def test_env_layers_process_then_dotenv_then_env_vars(load_doc, config_env):
    """Process env wins over $OPENCLAW_STATE_DIR/.env, which wins over env.vars."""
    state = Path(config_env["OPENCLAW_STATE_DIR"])
    state.mkdir()
    (state / ".env").write_text('A_VAR=from-dotenv\nexport B_VAR="from-dotenv"\n# c\n')
    doc = base_standalone()
    doc["env"] = {"vars": {"A_VAR": "from-vars", "B_VAR": "from-vars", "C_VAR": "from-vars"}}
    doc["failover"] = {"state": {"namespace": "${A_VAR}|${B_VAR}|${C_VAR}"}}
    result = load_doc(doc, env={"A_VAR": "from-process"})
    assert result.table.settings.state.namespace == "from-process|from-dotenv|from-vars"


def test_key_source_names_the_layer(load_doc, config_env):
    """A key from .env says so in its profile, by variable name, never by value."""
    state = Path(config_env["OPENCLAW_STATE_DIR"])
    state.mkdir()
    (state / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv-FAKE\n")
    result = load_doc(base_standalone(), env={"OPENAI_API_KEY": ""})
    (profile,) = result.table.providers["openai"].profiles
    assert (profile.id, profile.source, profile.source_name) == (
        "openai:OPENAI_API_KEY",
        ".env",
        "OPENAI_API_KEY",
    )
    assert profile.secret.reveal() == "sk-from-dotenv-FAKE"


def test_env_conventions_order_and_dedupe(load_doc):
    """OPENCLAW_LIVE_ first, then _API_KEYS list, _API_KEY, _API_KEY_1..N; same value once."""
    env = {
        "OPENAI_API_KEY": "k-plain",
        "OPENAI_API_KEYS": "k-list-a; k-list-b,k-plain",
        "OPENCLAW_LIVE_OPENAI_KEY": "k-live",
        "OPENAI_API_KEY_2": "k-two",
        "OPENAI_API_KEY_10": "k-ten",
        "OPENAI_API_KEY_1": "k-list-a",
    }
    result = load_doc(base_standalone(), env=env)
    ids = [p.id for p in result.table.providers["openai"].profiles]
    assert ids == [
        "openai:OPENCLAW_LIVE_OPENAI_KEY",
        "openai:OPENAI_API_KEYS[0]",
        "openai:OPENAI_API_KEYS[1]",
        "openai:OPENAI_API_KEYS[2]",
        "openai:OPENAI_API_KEY_2",
        "openai:OPENAI_API_KEY_10",
    ]


def test_profiles_ids_order_and_fingerprints(load_doc):
    """auth[] order is rotation order; ids are provider:<profile> or provider:<index>."""
    result = load_doc(base_standalone())
    anthropic = result.table.providers["anthropic"]
    assert [p.id for p in anthropic.profiles] == ["anthropic:team", "anthropic:1"]
    assert anthropic.explicit_order is True
    fingerprints = [p.fingerprint for p in anthropic.profiles]
    assert all(len(f) == 16 for f in fingerprints)
    assert fingerprints[0] != fingerprints[1]
    salt = result.table.fingerprint_salt
    assert fingerprints[0] == anthropic.profiles[0].secret.fingerprint(salt)
    assert FAKE_KEYS["ANTHROPIC_API_KEY"] not in repr(anthropic)


def test_salt_is_private_and_stable(tmp_path):
    """The salt file is 16 bytes, mode 0600 in a 0700 folder, and reused."""
    folder = tmp_path / "s" / "failover"
    first = load_fingerprint_salt(folder)
    assert len(first) == 16
    assert load_fingerprint_salt(folder) == first
    assert stat.S_IMODE((folder / "salt").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_references_are_not_keys(load_doc):
    """A profile id, a SecretRef and a dummy are references: no plaintext warning."""
    doc = base_standalone()
    doc["models"]["providers"]["openai"] = {"apiKey": "openai:manual"}
    doc["models"]["providers"]["groq"] = {
        "apiKey": {"source": "env", "provider": "default", "id": "GROQ_TOKEN"}
    }
    doc["agents"]["defaults"]["model"]["fallbacks"].insert(1, "groq/llama-3.3-70b")
    result = load_doc(doc, env={"GROQ_TOKEN": "gsk-FAKE-groq"})
    assert "secret.plaintext" not in _rules(result)
    (manual,) = [p for p in result.problems if p.rule == "auth.unresolved-reference"]
    assert manual.path == "models.providers.openai.apiKey"
    assert "openai:manual" in manual.found
    (unusable,) = [p for p in result.problems if p.rule == "auth.no-usable-key"]
    assert unusable.path == "models.providers.openai.apiKey"
    assert "openai:manual" in unusable.found
    assert result.table is None


def test_secret_ref_env_resolves(load_doc):
    """A SecretRef {source: env} resolves from the env layers; ollama-local passes through."""
    doc = base_standalone()
    doc["models"]["providers"]["openai"] = {
        "apiKey": {"source": "env", "provider": "default", "id": "MY_OAI"}
    }
    result = load_doc(doc, env={"MY_OAI": "sk-FAKE-ref"})
    assert result.problems == ()
    (profile,) = result.table.providers["openai"].profiles
    assert (profile.id, profile.source, profile.source_name) == ("openai:apiKey", "env", "MY_OAI")
    (dummy,) = result.table.providers["ollama"].profiles
    assert (dummy.source, dummy.secret.reveal()) == ("dummy", "ollama-local")


def test_local_tier_goes_last(load_doc):
    """api ollama and tiers.local entries are LOCAL and move after every cloud candidate."""
    doc = base_standalone()
    doc["agents"]["defaults"]["model"] = {
        "primary": "anthropic/claude-opus-4-6",
        "fallbacks": ["ollama/qwen3:8b", "llamacpp/smollm2", "openai/gpt-5.4-mini"],
    }
    doc["models"]["providers"]["llamacpp"] = {"baseUrl": "http://[::1]:8080/v1"}
    doc["failover"] = {"tiers": {"local": ["llamacpp/smollm2"]}}
    result = load_doc(doc)
    assert result.table is not None
    chain = [(c.ref, c.tier) for c in result.table.route("auto").candidates]
    assert chain == [
        ("anthropic/claude-opus-4-6", Tier.CLOUD),
        ("openai/gpt-5.4-mini", Tier.CLOUD),
        ("ollama/qwen3:8b", Tier.LOCAL),
        ("llamacpp/smollm2", Tier.LOCAL),
    ]


def test_fake_cloud_on_loopback_stays_cloud(load_doc):
    """A provider on 127.0.0.1 that is not in tiers.local is still cloud."""
    doc = base_standalone()
    doc["models"]["providers"]["fake"] = {"baseUrl": "http://127.0.0.1:9/v1", "apiKey": "${FK}"}
    doc["agents"]["defaults"]["model"]["fallbacks"].insert(0, "fake/m")
    result = load_doc(doc, env={"FK": "x"})
    assert result.table.route("auto").candidates[1].tier is Tier.CLOUD


def test_named_routes_and_aliases(load_doc):
    """routes.<name> build named chains; a bare alias from agents.defaults.models resolves."""
    doc = base_standalone()
    doc["agents"]["defaults"]["models"] = {"openai/gpt-5.4-mini": {"alias": "mini"}}
    doc["failover"] = {"routes": {"batch": {"primary": "mini", "fallback": "ollama/qwen3:8b"}}}
    result = load_doc(doc)
    assert [c.ref for c in result.table.route("batch").candidates] == [
        "openai/gpt-5.4-mini",
        "ollama/qwen3:8b",
    ]


def test_settings_defaults_and_resolved_paths(load_doc, config_env):
    """Every setting has its default; state and audit paths are resolved under the state dir."""
    table = load_doc(base_standalone()).table
    folder = Path(config_env["OPENCLAW_STATE_DIR"]) / "failover"
    assert table.settings.state.directory == str(folder)
    assert table.settings.audit.path == str(folder / "audit.jsonl")
    assert table.settings.deadlines.intent_budget_s == 150
    assert table.settings.proxy.port == 8787


def test_settings_read_from_block(load_doc):
    """Plugin settings under failover: map onto Settings, cooldown overrides included."""
    doc = base_standalone()
    doc["failover"] = {
        "mode": "provider",
        "retries": {"maxAttemptsPerKey": 3},
        "cooldowns": {"rate_limit": {"baseS": 10, "capS": 100}},
        "proxy": {"port": 9999, "token": "${TOK}"},
        "bannedModels": ["openai/gpt-4"],
    }
    settings = load_doc(doc, env={"TOK": "tok-FAKE"}).table.settings
    assert settings.retries.max_attempts_per_key == 3
    assert settings.cooldowns["rate_limit"].base_s == 10
    assert settings.cooldowns["rate_limit"].scope == "key_model"
    assert settings.proxy.port == 9999
    assert settings.proxy.token.reveal() == "tok-FAKE"


def test_kind_detection(load_doc):
    """openclaw by name, by an OpenClaw-only root key, or by --kind; standalone otherwise."""
    assert load_doc(base_openclaw(), name="openclaw.json").kind == "openclaw"
    assert load_doc(base_openclaw(), name="mine.json5").kind == "openclaw"
    assert load_doc(base_standalone(), name="x.json5").kind == "standalone"
    assert load_doc(base_standalone(), name="x.json5", kind="openclaw").kind == "openclaw"


def test_kind_detection_by_discovered_path(tmp_path, config_env):
    """The file OPENCLAW_CONFIG_PATH names is OpenClaw's own, whatever its name."""
    path = tmp_path / "any.json5"
    path.write_text(json.dumps(base_standalone()))
    env = {**config_env, "OPENCLAW_CONFIG_PATH": str(path)}
    assert load_route_table(path, environ=env).kind == "openclaw"


def test_openclaw_kind_reads_plugin_block(load_doc):
    """OpenClaw's own file: the chain from agents.defaults.model, keys from the plugin block."""
    result = load_doc(base_openclaw(), name="openclaw.json")
    assert result.problems == ()
    assert [p.id for p in result.table.providers["anthropic"].profiles] == [
        "anthropic:team",
        "anthropic:1",
    ]


def test_discovery_rules(tmp_path):
    """OPENCLAW_CONFIG_PATH, else $OPENCLAW_STATE_DIR/openclaw.json, else the home's."""
    assert discover_config_path({"OPENCLAW_CONFIG_PATH": "/x/c.json"}) == Path("/x/c.json")
    assert discover_config_path({"OPENCLAW_STATE_DIR": "/s"}) == Path("/s/openclaw.json")
    env = {"HOME": "/h", "OPENCLAW_HOME": "/oh"}
    assert discover_config_path(env) == Path("/oh/.openclaw/openclaw.json")
    assert resolve_state_dir({"HOME": "/h"}) == Path("/h/.openclaw/failover")
    profiled = {"HOME": "/h", "OPENCLAW_PROFILE": "work"}
    assert discover_config_path(profiled) == Path("/h/.openclaw-work/openclaw.json")


def test_require_raises_config_error_with_every_problem(load_doc, write_config, config_env):
    """require_route_table raises ConfigError carrying each error, never a key."""
    doc = base_standalone()
    doc["agents"]["defaults"]["model"]["fallbacks"] = ["nope/x", "openai/gpt-5.4-mini"]
    doc["providers"]["anthropic"]["auth"].append({"key": "sk-ant-FAKE-inline-5Tg"})
    path = write_config(doc)
    with pytest.raises(ConfigError) as caught:
        require_route_table(path, environ=config_env)
    assert [p.rule for p in caught.value.problems] == ["chain.drift"]
    assert "sk-ant-FAKE" not in str(caught.value)


def test_unknown_kind_is_rejected(tmp_path):
    """kind must be openclaw or standalone."""
    with pytest.raises(ValueError, match="kind must be"):
        load_route_table(tmp_path / "x", kind="other")


def test_plugin_mode_uses_openclaw_profiles_in_auth_order(load_doc):
    """Plugin mode: auth.profiles become profiles (no key here) in auth.order; no key error."""
    doc = base_openclaw()
    block = doc["plugins"]["entries"]["openclaw-failover"]["config"]
    block["mode"] = "plugin"
    del block["providers"]
    doc["auth"] = {
        "profiles": {
            "anthropic:default": {"provider": "anthropic", "mode": "api_key"},
            "anthropic:work": {"provider": "anthropic", "mode": "api_key"},
        },
        "order": {"anthropic": ["anthropic:work", "anthropic:default"]},
    }
    result = load_doc(doc, name="openclaw.json", env={"ANTHROPIC_API_KEY": ""})
    assert result.problems == ()
    anthropic = result.table.providers["anthropic"]
    assert [(p.id, p.source) for p in anthropic.profiles][:2] == [
        ("anthropic:work", "openclaw-store"),
        ("anthropic:default", "openclaw-store"),
    ]
    assert anthropic.explicit_order is True


def test_provider_mode_ignores_store_only_profiles(load_doc):
    """Provider mode: OpenClaw's store profiles hold no key the proxy can send, so none is kept."""
    doc = base_openclaw()
    doc["auth"] = {"profiles": {"openai:default": {"provider": "openai", "mode": "api_key"}}}
    result = load_doc(
        doc, name="openclaw.json", env={"OPENAI_API_KEY": "", "OPENAI_API_KEYS": "k1,k2"}
    )
    assert [p.id for p in result.table.providers["openai"].profiles] == [
        "openai:OPENAI_API_KEYS[0]",
        "openai:OPENAI_API_KEYS[1]",
    ]


def test_tool_support_downgrade_warns(load_doc):
    """A fallback without tool support behind a primary with it draws a downgrade warning."""
    doc = base_standalone()
    doc["models"]["providers"]["anthropic"] = {
        "models": [{"id": "claude-opus-4-6", "compat": {"supportsTools": True}}]
    }
    doc["models"]["providers"]["openai"] = {
        "models": [{"id": "gpt-5.4-mini", "compat": {"supportsTools": False}}]
    }
    (problem,) = load_doc(doc).problems
    assert (problem.rule, problem.severity) == ("chain.capability-downgrade", "warning")
    assert "no tool support" in problem.message


def test_dotenv_parsing_rules(tmp_path):
    """The state .env: export prefix, quotes, comments, first definition wins."""
    from openclaw_failover.config._env import parse_dotenv

    text = "# c\nexport A=1\nB = 'two words'\nC=x # note\nA=again\nnot a line\n"
    assert parse_dotenv(text) == {"A": "1", "B": "two words", "C": "x"}


def _redis_doc(url: str, namespace: str = "cfg-salt-test") -> dict:
    doc = base_standalone()
    doc["failover"] = {"state": {"backend": "redis", "url": url, "namespace": namespace}}
    return doc


def test_redis_backend_unreachable_keeps_local_salt(load_doc, config_env):
    """backend redis with Redis down: the table loads with the local salt."""
    result = load_doc(_redis_doc("redis://127.0.0.1:1/0"))
    assert result.table is not None
    local = (Path(config_env["OPENCLAW_STATE_DIR"]) / "failover" / "salt").read_bytes()
    assert result.table.fingerprint_salt == local


@pytest.mark.redis
def test_redis_backend_shares_one_salt(redis_server, redis_namespace, write_config, tmp_path):
    """Two gateways with different local salts fingerprint keys alike through one Redis."""
    path = write_config(_redis_doc(redis_server.url, redis_namespace))
    tables = [
        require_route_table(
            path,
            environ={
                "OPENCLAW_STATE_DIR": str(tmp_path / f"gw{i}"),
                "HOME": str(tmp_path),
                **FAKE_KEYS,
            },
        )
        for i in range(2)
    ]
    salts = [(tmp_path / f"gw{i}" / "failover" / "salt").read_bytes() for i in range(2)]
    assert salts[0] != salts[1]
    assert tables[0].fingerprint_salt == tables[1].fingerprint_salt == salts[0]
    fingerprints = [[p.fingerprint for p in t.providers["anthropic"].profiles] for t in tables]
    assert fingerprints[0] == fingerprints[1]


@pytest.mark.parametrize(
    ("include", "rule"),
    [(42, "include.invalid"), ("./absent.json5", "file.missing"), ("./bad.json5", "file.parse")],
)
def test_include_failures_are_problems(load_doc, write_config, include, rule):
    """A wrong $include value, a missing or broken included file: a problem at the include."""
    write_config("{ oops ", "bad.json5")
    doc = base_standalone()
    doc["failover"] = {"$include": include}
    (problem,) = [p for p in load_doc(doc).problems if p.rule == rule]
    assert problem.path == "failover.$include"


def test_root_must_be_an_object(load_doc):
    """A list at the root is file.not-object."""
    result = load_doc("[1, 2]")
    assert [p.rule for p in result.problems] == ["file.not-object"]


def test_too_large_file_is_refused(load_doc):
    """A file over 2 MB is file.too-large, not parsed."""
    result = load_doc('{ "a": "' + "x" * (2 * 1024 * 1024) + '" }')
    assert [p.rule for p in result.problems] == ["file.too-large"]


def test_include_of_a_list_replaces_the_value(load_doc, write_config):
    """An included non-object becomes the value itself (here: a fallbacks list)."""
    write_config('["openai/gpt-5.4-mini"]', "fb.json5")
    doc = base_standalone()
    doc["agents"]["defaults"]["model"]["fallbacks"] = {"$include": "./fb.json5"}
    result = load_doc(doc)
    assert [c.ref for c in result.table.route("auto").candidates] == [
        "anthropic/claude-opus-4-6",
        "openai/gpt-5.4-mini",
    ]


@pytest.mark.parametrize(
    ("model", "rule", "path"),
    [
        (None, "chain.missing", "agents.defaults.model"),
        (7, "chain.missing", "agents.defaults.model"),
        (
            {"fallbacks": ["openai/gpt-5.4-mini"]},
            "chain.no-primary",
            "agents.defaults.model.primary",
        ),
    ],
)
def test_chain_shape_problems(load_doc, model, rule, path):
    """No chain, a chain of the wrong type, or no primary: each named at its path."""
    doc = base_standalone()
    doc["agents"]["defaults"]["model"] = model
    result = load_doc(doc)
    assert (rule, path) in [(p.rule, p.path) for p in result.problems]
    assert result.table is None


def test_public_names_sorted_and_present():
    """config's __all__ names each public name once and every one exists (ruff RUF022 sorts it)."""
    import openclaw_failover.config as config

    assert len(set(config.__all__)) == len(config.__all__)
    assert all(hasattr(config, name) for name in config.__all__)
    assert {"load_route_table", "require_route_table", "LoadResult"} <= set(config.__all__)


def test_a_folder_or_binary_file_is_unreadable_not_missing(tmp_path, config_env):
    """A folder or a non-UTF-8 config is file.unreadable naming the file and why (was missing)."""
    (folder,) = load_route_table(tmp_path, environ=config_env).problems
    assert (folder.rule, folder.found) == ("file.unreadable", f"{tmp_path} (Is a directory)")
    binary = tmp_path / "bin.json5"
    binary.write_bytes(b"{ a: 1 }\xff\xfe\x00")
    (problem,) = load_route_table(binary, environ=config_env).problems
    assert problem.rule == "file.unreadable"
    assert problem.found == f"{binary} (not UTF-8 text: byte 8 is 0xff)"
    assert "UTF-8" in problem.expected


def test_an_unreadable_include_is_file_unreadable(load_doc, write_config):
    """A non-UTF-8 $include is file.unreadable at the include's path, not file.missing."""
    part = write_config("{}", "part.json5")
    part.write_bytes(b"\x80")
    doc = base_standalone()
    doc["failover"] = {"$include": "./part.json5"}
    result = load_doc(doc)
    assert [(p.rule, p.path) for p in result.errors] == [("file.unreadable", "failover.$include")]
