"""install / uninstall guards: masked diffs, kept settings, refused ports, shapes and modes.

Each test runs the CLI in-process on a temporary OpenClaw home (config edits only, no OpenClaw
CLI) and checks both what it prints and that a refusal writes nothing at all.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import json5
import pytest
from typer.testing import CliRunner

from openclaw_failover._install import BACKUP_SUFFIX, SETTINGS_NAME, install, resolve_target
from openclaw_failover._install_files import InstallError, has_comments
from openclaw_failover._install_plan import (
    PROVIDER_ID,
    ROUTED_PRIMARY,
    InstallOptions,
    plan_install,
    plan_uninstall,
)
from openclaw_failover.cli import app

INLINE_OPENAI = "sk-proj-INLINEsecretCCCCCCCCCCCCCCCCCCCC"
INLINE_BLOCK = "sk-ant-api03-BLOCKsecretAAAAAAAAAAAAAAAAAAAA"
INLINE_TOKEN = "tok-proxy-INLINE-7c3e91d0"
ENV_KEY = "envkey-DISTINCTIVE-5e1f0c"  # not key-shaped: only the env lookup can mask it
CHAIN = {"primary": "anthropic/claude-opus-4-6", "fallbacks": ["openai/gpt-5.4-mini"]}


def _home(tmp_path: Path, doc: dict[str, Any] | str) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    config = state / "openclaw.json"
    config.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return config


def _cli(config: Path, *args: str) -> tuple[int, str]:
    """Run ``openclaw-failover ARGS --config CONFIG`` in-process; (exit code, all output)."""
    env: dict[str, str | None] = {
        "OPENCLAW_STATE_DIR": str(config.parent),
        "OPENCLAW_CONFIG_PATH": str(config),
        "HOME": str(config.parent.parent),
        "ANTHROPIC_API_KEY": ENV_KEY,
        "OPENCLAW_FAILOVER_TOKEN": None,  # unset: install writes one into .env
    }
    argv = [*args, "--config", str(config)]
    if args[0] == "install":
        argv.append("--no-openclaw-cli")
    result = CliRunner().invoke(app, argv, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a Python error reached the operator
    return result.exit_code, result.stdout + result.stderr


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _load(path: Path) -> dict[str, Any]:
    data = json5.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _with_keys() -> dict[str, Any]:
    """Keys inline in models.providers and in the plugin block (the apiKey and the token next to
    what install adds, so its diff's context shows them); an env value and a key-shaped token
    in headers."""
    return {
        "agents": {"defaults": {"model": CHAIN}},
        "models": {
            "providers": {
                "openai": {
                    "api": "openai-completions",
                    "baseUrl": "https://api.openai.com/v1",
                    "headers": {"X-Team": ENV_KEY, "X-Other": "Bearer sk-or-v1-" + "D" * 30},
                    "models": [],
                    "apiKey": INLINE_OPENAI,
                }
            }
        },
        "plugins": {
            "entries": {
                "openclaw-failover": {
                    "config": {
                        "providers": {"anthropic": {"auth": [{"key": INLINE_BLOCK}]}},
                        "proxy": {"token": INLINE_TOKEN},
                    }
                }
            }
        },
    }


def test_dry_run_diffs_mask_every_key(tmp_path: Path) -> None:
    """install --dry-run and uninstall --dry-run show the lines around keys with the keys as
    *** (inline apiKey, the plugin block's key, an env value, a key-shaped header)."""
    config = _home(tmp_path, _with_keys())
    code, out = _cli(config, "install", "--dry-run")
    assert code == 0, out
    assert '"apiKey": "***"' in out
    assert '"token": "***"' in out
    code, _ = _cli(config, "install")
    assert code == 0
    code, undo = _cli(config, "uninstall", "--dry-run")
    assert code == 0, undo
    assert '"key": "***"' in undo
    for output in (out, undo):
        for secret in (INLINE_OPENAI, INLINE_BLOCK, INLINE_TOKEN, ENV_KEY, "sk-or-v1-DDDD"):
            assert secret not in output


def test_dry_run_masks_env_values_and_key_shaped_text(tmp_path: Path) -> None:
    """A value equal to an environment key, and a key-shaped token, are masked under any key
    name (headers here, next to what install adds)."""
    doc = _with_keys()
    openai = doc["models"]["providers"]["openai"]
    openai["headers"] = openai.pop("headers")  # last, so the diff's context shows it
    config = _home(tmp_path, doc)
    code, out = _cli(config, "install", "--dry-run")
    assert code == 0, out
    assert '"X-Team": "***"' in out
    assert '"X-Other": "Bearer ***"' in out
    assert ENV_KEY not in out
    assert "sk-or-v1-DDDD" not in out


def test_second_uninstall_keeps_the_saved_settings(tmp_path: Path) -> None:
    """install, uninstall, uninstall: the second writes nothing, says so, and the settings the
    first kept (keys, chain, routes) come back with the next install."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    _cli(config, "install")
    doc = _load(config)
    doc["plugins"]["entries"]["openclaw-failover"]["config"]["alerts"] = {"localShare": 0.5}
    config.write_text(json.dumps(doc), encoding="utf-8")
    assert _cli(config, "uninstall")[0] == 0
    kept = config.parent / SETTINGS_NAME
    before = _files(config.parent)
    assert json.loads(kept.read_text("utf-8"))["alerts"] == {"localShare": 0.5}

    code, out = _cli(config, "uninstall")
    assert code == 0
    assert "nothing to uninstall" in out
    assert "left as they are" in out
    assert _files(config.parent) == before
    _cli(config, "install")
    block = _load(config)["plugins"]["entries"]["openclaw-failover"]["config"]
    assert block["alerts"] == {"localShare": 0.5}
    assert block["model"] == CHAIN


def test_uninstall_of_an_empty_block_keeps_the_earlier_copy(tmp_path: Path) -> None:
    """A plugin entry whose config is empty has nothing to keep: the earlier copy stays."""
    config = _home(tmp_path, {"plugins": {"entries": {"openclaw-failover": {"enabled": True}}}})
    kept = config.parent / SETTINGS_NAME
    kept.write_text('{"alerts": {"localShare": 0.5}}', encoding="utf-8")
    code, out = _cli(config, "uninstall")
    assert code == 0
    assert "left as they are" in out
    assert kept.read_text("utf-8") == '{"alerts": {"localShare": 0.5}}'
    assert "openclaw-failover" not in config.read_text("utf-8")


@pytest.mark.parametrize("port", ["99999", "0", "-1", "65536"])
def test_port_outside_1_to_65535_is_refused(tmp_path: Path, port: str) -> None:
    """--port outside 1..65535 exits 2 naming --port, and writes nothing."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    before = _files(config.parent)
    code, out = _cli(config, "install", "--port", port)
    assert code == 2
    assert f"--port: found {port}; expected a port number from 1 to 65535" in out
    assert _files(config.parent) == before


def test_library_install_refuses_port_zero(tmp_path: Path) -> None:
    """install() itself refuses port 0 (it would write baseUrl http://127.0.0.1:0/v1)."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    env = {"OPENCLAW_STATE_DIR": str(config.parent), "PATH": ""}
    target = resolve_target(str(config), state_dir=str(config.parent), workspace=None, environ=env)
    with pytest.raises(InstallError, match=r"--port: found 0"):
        install(target, mode="provider", use_openclaw_cli=False, port=0)
    assert not config.with_name(config.name + BACKUP_SUFFIX).exists()


def test_a_port_that_fits_is_written_into_the_provider(tmp_path: Path) -> None:
    """--port 9123 lands in the block and in the failover provider's URLs."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    assert _cli(config, "install", "--port", "9123")[0] == 0
    doc = _load(config)
    assert doc["models"]["providers"][PROVIDER_ID]["baseUrl"] == "http://127.0.0.1:9123/v1"


def test_install_refuses_a_result_validate_would_reject(tmp_path: Path) -> None:
    """A chain that names failover/auto would make the proxy its own candidate once installed:
    refused with validate's finding, nothing written."""
    chain = {"primary": "anthropic/claude-opus-4-6", "fallbacks": [ROUTED_PRIMARY]}
    config = _home(tmp_path, {"agents": {"defaults": {"model": chain}}})
    before = _files(config.parent)
    code, out = _cli(config, "install")
    assert code == 2
    assert "would not pass `openclaw-failover validate`" in out
    assert "chain.self-loop" in out
    assert _files(config.parent) == before


def test_missing_keys_do_not_block_install_but_are_named(tmp_path: Path) -> None:
    """A key not exported yet is the environment's, not the install's: installed, with a note."""
    doc = {
        "agents": {
            "defaults": {"model": "anthropic/claude-opus-4-6"},
            "entries": {"x": {"model": {"primary": "groq/llama-3.3", "fallbacks": ["groq/b"]}}},
        }
    }
    config = _home(tmp_path, doc)
    code, out = _cli(config, "install", "--agents", "x")
    assert code == 0, out
    assert "before serving: no usable key for 'groq'" in out


MALFORMED = [
    ({"agents": None}, "agents: found null; expected an object"),
    ({"agents": {"defaults": []}}, "agents.defaults: found a list; expected an object"),
    ({"agents": {"defaults": {"model": 5}}}, "agents.defaults.model: found the number 5"),
    (
        {"agents": {"defaults": {"model": {"primary": "a/b", "fallbacks": "c/d"}}}},
        "agents.defaults.model.fallbacks: found the string 'c/d'; expected a list",
    ),
    ({"agents": {"entries": {"coder": 5}}}, "agents.entries.coder: found the number 5"),
    ({"agents": {"list": {"id": "x"}}}, "agents.list: found an object; expected a list"),
    ({"plugins": "x"}, "plugins: found the string 'x'; expected an object"),
    ({"models": {"providers": []}}, "models.providers: found a list; expected an object"),
    (
        {"plugins": {"entries": {"openclaw-failover": {"config": {"deadlines": 5}}}}},
        "plugins.entries.openclaw-failover.config.deadlines: found the number 5; "
        "expected an object",
    ),
    (
        {"plugins": {"entries": {"openclaw-failover": {"config": {"proxy": {"port": "${PORT}"}}}}}},
        "plugins.entries.openclaw-failover.config.proxy.port: found the string '${PORT}'; "
        "expected a port number from 1 to 65535",
    ),
    (
        {"plugins": {"entries": {"openclaw-failover": {"config": {"proxy": {"port": 0}}}}}},
        "config.proxy.port: found the number 0",
    ),
    (
        '{ plugins: { entries: { "openclaw-failover": { config: '
        "{ deadlines: { intentBudgetS: Infinity } } } } } }",
        "config.deadlines.intentBudgetS: found Infinity; expected a number of seconds above 0",
    ),
]


@pytest.mark.parametrize(("doc", "message"), MALFORMED)
def test_malformed_input_is_refused_by_json_path(
    tmp_path: Path, doc: dict[str, Any] | str, message: str
) -> None:
    """Each wrong shape install reads exits 2 with its JSON path, what was found and what was
    expected; no Python error, nothing written."""
    config = _home(tmp_path, doc)
    before = _files(config.parent)
    code, out = _cli(config, "install")
    assert code == 2
    assert message in out
    assert "refused, nothing written" in out
    assert _files(config.parent) == before


def test_uninstall_refuses_a_shape_it_cannot_read(tmp_path: Path) -> None:
    """uninstall on plugins: "x" names the path and writes nothing."""
    config = _home(tmp_path, {"plugins": "x"})
    code, out = _cli(config, "uninstall")
    assert code == 2
    assert "plugins: found the string 'x'; expected an object" in out


def test_a_bad_port_does_not_stand_in_the_way_of_uninstall(tmp_path: Path) -> None:
    """Uninstall reads no port or deadline: an operator's bad edit there still uninstalls."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    _cli(config, "install")
    doc = _load(config)
    block = doc["plugins"]["entries"]["openclaw-failover"]["config"]
    block["proxy"]["port"] = "abc"
    block["deadlines"] = 5
    config.write_text(json.dumps(doc), encoding="utf-8")
    code, out = _cli(config, "uninstall")
    assert code == 0, out
    assert _load(config)["agents"]["defaults"]["model"] == CHAIN


def test_plugin_mode_over_a_provider_install_is_refused(tmp_path: Path) -> None:
    """install --mode plugin over provider mode would leave failover/auto in place: refused,
    naming uninstall; after uninstall, plugin mode installs with OpenClaw's chain back."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    assert _cli(config, "install")[0] == 0
    before = _files(config.parent)
    code, out = _cli(config, "install", "--mode", "plugin")
    assert code == 2
    assert "wired in provider mode" in out
    assert "openclaw-failover uninstall" in out
    assert _files(config.parent) == before

    assert _cli(config, "uninstall")[0] == 0
    code, out = _cli(config, "install", "--mode", "plugin")
    assert code == 0, out
    doc = _load(config)
    assert doc["agents"]["defaults"]["model"] == CHAIN
    assert PROVIDER_ID not in doc.get("models", {}).get("providers", {})
    assert doc["plugins"]["entries"]["openclaw-failover"]["config"]["mode"] == "plugin"


AGENTS = {
    "agents": {
        "defaults": {"model": "anthropic/claude-opus-4-6"},
        "entries": {"coder": {"model": CHAIN}, "strict": {"model": "openai/gpt-5.4"}},
        "list": [{"id": "legacy", "model": CHAIN}],
    }
}


def test_unknown_agent_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    """--agents codr (a typo) exits 2 naming it and every configured agent; nothing written."""
    config = _home(tmp_path, AGENTS)
    before = _files(config.parent)
    code, out = _cli(config, "install", "--agents", "codr")
    assert code == 2
    assert "no agent 'codr'" in out
    assert "coder, legacy, strict" in out
    assert _files(config.parent) == before


def test_agents_from_the_legacy_list_are_routed_and_restored(tmp_path: Path) -> None:
    """--agents legacy routes an agents.list entry too; uninstall gives its chain back; an
    agent without fallbacks of its own is named and left alone."""
    config = _home(tmp_path, AGENTS)
    code, out = _cli(config, "install", "--agents", "legacy,strict")
    assert code == 0, out
    assert "agent 'strict' has no fallbacks of its own" in out
    doc = _load(config)
    assert doc["agents"]["list"][0]["model"]["primary"] == "failover/agent-legacy"
    assert doc["agents"]["entries"]["strict"]["model"] == "openai/gpt-5.4"
    assert _cli(config, "uninstall")[0] == 0
    assert _load(config)["agents"] == AGENTS["agents"]


def test_world_readable_env_file_draws_a_warning(tmp_path: Path) -> None:
    """Appending the token to a 0644 .env names the file and chmod 600; its mode is kept."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    env_file = config.parent / ".env"
    env_file.write_text("FOO=1", encoding="utf-8")
    env_file.chmod(0o644)
    code, out = _cli(config, "install")
    assert code == 0
    assert f"chmod 600 {env_file}" in out
    assert "mode 0644" in out
    assert env_file.read_text("utf-8").startswith("FOO=1\nOPENCLAW_FAILOVER_TOKEN=")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o644


def test_private_env_file_draws_no_warning(tmp_path: Path) -> None:
    """A .env install creates is 0600 and no warning is printed."""
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    code, out = _cli(config, "install")
    assert code == 0
    assert "chmod" not in out
    assert stat.S_IMODE((config.parent / ".env").stat().st_mode) == 0o600


def test_install_says_it_drops_json5_comments(tmp_path: Path) -> None:
    """A commented openclaw.json gets migrate's note; one without comments does not."""
    commented = _home(tmp_path, '// mine\n{ agents: { defaults: { model: "anthropic/a" } } }')
    code, out = _cli(commented, "install", "--dry-run")
    assert code == 0
    assert "comments and formatting are not kept" in out
    plain = tmp_path / "plain" / "state" / "openclaw.json"
    plain.parent.mkdir(parents=True)
    plain.write_text('{"agents": {"defaults": {"model": "anthropic/a"}}}', encoding="utf-8")
    assert "comments" not in _cli(plain, "install", "--dry-run")[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{ a: "http://x/y" }', False),
        ("{ a: 'it''s // not' }", False),
        ('{ a: "q\\"//" }', False),
        ("{ a: 1 } // end", True),
        ("/* top */ { }", True),
    ],
)
def test_has_comments_ignores_slashes_in_strings(tmp_path: Path, text: str, expected: bool) -> None:
    """Only // and /* outside strings count as comments."""
    path = tmp_path / "c.json5"
    path.write_text(text, encoding="utf-8")
    assert has_comments(path) is expected


def test_uninstall_restores_a_numbered_fallback_chain() -> None:
    """A block chain written as fallback / fallback2 comes back whole, as fallbacks[]."""
    plan = plan_install({"agents": {"defaults": {"model": "anthropic/a"}}}, InstallOptions())
    edited = json.loads(json.dumps(plan.doc))
    edited["plugins"]["entries"]["openclaw-failover"]["config"]["model"] = {
        "primary": "openai/b",
        "fallback": "anthropic/a",
        "fallback2": "ollama/c",
    }
    undone = plan_uninstall(edited, plan.bookkeeping)
    assert undone.doc["agents"]["defaults"]["model"] == {
        "primary": "openai/b",
        "fallbacks": ["anthropic/a", "ollama/c"],
    }


@pytest.mark.parametrize("doc", [{}, {"agents": {"defaults": {"model": {"fallbacks": ["a/b"]}}}}])
def test_provider_mode_without_a_chain_is_refused(tmp_path: Path, doc: dict[str, Any]) -> None:
    """With no chain to move, provider mode would point OpenClaw at a proxy with nothing to
    call: refused naming agents.defaults.model. Plugin mode installs, with a note."""
    config = _home(tmp_path, doc)
    before = _files(config.parent)
    code, out = _cli(config, "install")
    assert code == 2
    assert "[install.no-chain] agents.defaults.model" in out
    assert _files(config.parent) == before
    code, out = _cli(config, "install", "--mode", "plugin")
    assert code == 0, out
    assert "no chain found" in out
