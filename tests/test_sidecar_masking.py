"""No secret reaches the sidecar's error replies, its stderr lines or the ``failover_status``
tool's answer: a key the config knows, a key-shaped token, a URL's password."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from openclaw_failover._ordering import model_key
from openclaw_failover._ports import Health, HealthUpdate
from openclaw_failover._sidecar import Sidecar, build_plugin, masked_logging, run_stdio
from openclaw_failover.plugin import FailoverPlugin
from tests.fixtures.config import base_standalone
from tests.fixtures.plugin_host import (
    NOW,
    PRIMARY,
    DictStore,
    agent_ctx,
    call_event,
    make_plugin,
)

#: A configured key with no provider prefix: only the config's own keys can unmask it.
PLAIN_KEY = "plainFAKEkey0Qz7Wv"
#: A key-shaped token no config holds (an upstream echoing a key it was sent).
SHAPED_KEY = "sk-proj-FAKEabcdefghijklmnop1234"
REDIS_PASSWORD = "hunter2-FAKE-pw9"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"
LEAKS = (PLAIN_KEY, SHAPED_KEY, REDIS_PASSWORD)
PRIMARY_KEY = model_key(PRIMARY)


class LeakyStore:
    """A store whose every call fails with a message quoting a key and a redis URL."""

    def _fail(self) -> RuntimeError:
        return RuntimeError(f"cannot reach {REDIS_URL} (auth {PLAIN_KEY}, upstream {SHAPED_KEY})")

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]:
        raise self._fail()

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        raise self._fail()

    async def items(self) -> Mapping[str, Health]:
        raise self._fail()

    async def aclose(self) -> None:
        return None


def _built(write_config: Callable[..., Path], config_env: dict[str, str]) -> FailoverPlugin:
    """The plugin as the sidecar command builds it, from a config whose openai key is
    ``PLAIN_KEY`` (in the environment) and whose state is a redis URL with a password."""
    doc = base_standalone()
    doc["providers"]["openai"] = {"auth": [{"key": "${OPENAI_API_KEY}"}]}
    doc["failover"] = {"mode": "plugin", "state": {"directory": str(Path(config_env["HOME"]))}}
    path = write_config(doc)
    return build_plugin(str(path), environ={**config_env, "OPENAI_API_KEY": PLAIN_KEY})


def _assert_clean(text: str) -> None:
    for secret in LEAKS:
        assert secret not in text


async def test_a_tool_error_reply_masks_keys_and_url_passwords(
    write_config: Callable[..., Path], config_env: dict[str, str]
) -> None:
    """failover_status over a failing store: the error names the failure, not the secrets."""
    plugin = _built(write_config, config_env)
    plugin.store = LeakyStore()
    reply = await Sidecar.create(plugin).handle({"id": 7, "op": "tool", "name": "failover_status"})
    assert (reply["id"], reply["ok"]) == (7, False)
    _assert_clean(reply["error"])
    assert reply["error"].startswith("RuntimeError: cannot reach redis://***@127.0.0.1:6379/0")


async def test_a_hook_error_reply_masks_keys_and_url_passwords(
    write_config: Callable[..., Path], config_env: dict[str, str]
) -> None:
    """A hook that fails on its store answers with the secrets masked (and as one JSON line)."""
    plugin = _built(write_config, config_env)
    plugin.store = LeakyStore()
    sidecar = Sidecar.create(plugin)
    started = call_event(PRIMARY)
    await sidecar.handle({"id": 1, "op": "hook", "hook": "model_call_started",
                          "event": started, "ctx": agent_ctx()})  # fmt: skip
    ended = call_event(PRIMARY, outcome="error", failureKind="timeout", durationMs=5)
    line = json.dumps({"id": 2, "op": "hook", "hook": "model_call_ended", "event": ended,
                       "ctx": agent_ctx()})  # fmt: skip
    reply = await sidecar.handle_line(line)
    assert (reply["id"], reply["ok"]) == (2, False)
    _assert_clean(json.dumps(reply))
    assert "RuntimeError" in reply["error"]


def _cooling_plugin(reason: str, secrets: frozenset[str]) -> FailoverPlugin:
    """A plugin whose primary cools for 120 s with ``reason``, told ``secrets``."""
    base, store, audit, _ = make_plugin(store=DictStore({PRIMARY_KEY: Health(NOW + 120, reason)}))
    return FailoverPlugin(base.table, store=store, audit=audit, clock=base.clock, secrets=secrets)


async def test_status_masks_a_stored_reason_that_quotes_a_key() -> None:
    """A cooldown reason from a shared store that quotes keys is masked in text and details."""
    reason = f"auth: Incorrect API key provided: {SHAPED_KEY} / {PLAIN_KEY} via {REDIS_URL}"
    plugin = _cooling_plugin(reason, frozenset({PLAIN_KEY}))
    reply = await Sidecar.create(plugin).handle({"id": 3, "op": "tool", "name": "failover_status"})
    assert reply["ok"] is True, reply
    result = json.dumps(reply["result"])
    _assert_clean(result)
    assert "anthropic/claude-opus-4-6 [cloud] cooling" in result
    (first, *_) = reply["result"]["details"]["candidates"]
    assert first["reason"].startswith("auth: Incorrect API key provided: ***")


async def test_status_masks_key_shapes_and_url_passwords_without_a_secret_list() -> None:
    """Even a plugin built with no secret list masks key-shaped text and URL passwords."""
    reason = f"auth: Incorrect API key provided: {SHAPED_KEY} via {REDIS_URL}"
    plugin, *_ = make_plugin(
        store=DictStore({"model:anthropic/claude-opus-4-6": Health(NOW + 60, reason)})
    )
    result = await plugin.failover_status("call-1", {})
    _assert_clean(result.text + json.dumps(result.details))
    assert "reason auth: Incorrect API key provided: *** via redis://***@127.0.0.1" in result.text


async def test_status_keeps_plain_reasons_readable() -> None:
    """Masking leaves the usual words alone: ref, state, reason."""
    plugin = _cooling_plugin("auth", frozenset({PLAIN_KEY}))
    result = await plugin.failover_status("call-1", {})
    assert "1. anthropic/claude-opus-4-6 [cloud] cooling until" in result.text
    assert result.text.count("reason auth)") == 1
    assert result.details is not None
    assert result.details["candidates"][0]["reason"] == "auth"


async def test_status_masks_the_route_name_it_echoes() -> None:
    """An unknown route is echoed back masked: the model may have passed a key as the route."""
    plugin = _cooling_plugin("auth", frozenset({PLAIN_KEY}))
    result = await plugin.failover_status("call-1", {"route": f"{PLAIN_KEY}-{SHAPED_KEY}"})
    assert "Unknown route" in result.text
    _assert_clean(result.text + json.dumps(result.details))


def test_built_plugin_knows_the_config_secrets(
    write_config: Callable[..., Path], config_env: dict[str, str]
) -> None:
    """build_plugin hands the plugin every secret of its config (here the env-held key)."""
    assert PLAIN_KEY in _built(write_config, config_env).secrets


def test_stderr_lines_are_masked(
    write_config: Callable[..., Path],
    config_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The sidecar's stderr logger (the plugin's ``api.logger``) masks what it is given."""
    sidecar = Sidecar.create(_built(write_config, config_env))
    sidecar.host.logger.warn(f"store said {PLAIN_KEY} at {REDIS_URL} for {SHAPED_KEY}")
    err = capsys.readouterr().err
    _assert_clean(err)
    assert "openclaw-failover sidecar warn: store said *** at redis://***@127.0.0.1" in err


def test_warnings_while_serving_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """While the sidecar serves, a store's warning and a logged traceback reach stderr masked;
    afterwards the handler is gone."""
    plugin = _cooling_plugin("auth", frozenset({PLAIN_KEY}))
    stores = logging.getLogger("openclaw_failover.stores")
    with masked_logging(plugin.scrub):
        stores.warning("state store degraded to local state: %s (%s)", REDIS_URL, PLAIN_KEY)
        try:
            raise RuntimeError(f"upstream said {SHAPED_KEY}")
        except RuntimeError:
            logging.getLogger("asyncio").exception("Task exception was never retrieved")
    stores.warning("after serving")
    err = capsys.readouterr().err
    _assert_clean(err)
    assert "state store degraded to local state: redis://***@127.0.0.1:6379/0 (***)" in err
    assert "RuntimeError: upstream said ***" in err
    assert "after serving" not in err


class WarningStore(LeakyStore):
    """A store that falls back as the redis store does: a warning quoting its backend, then
    an empty answer."""

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]:
        logging.getLogger("openclaw_failover.stores").warning(
            "state store degraded to local state: %s", self._fail()
        )
        return {}


async def test_run_stdio_writes_store_warnings_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Serving on stdio, a store's warning goes to stderr masked (and the reply is answered)."""
    plugin = _cooling_plugin("auth", frozenset({PLAIN_KEY}))
    plugin.store = WarningStore()
    read_fd, write_fd = os.pipe()
    request = {"id": 1, "op": "tool", "name": "failover_status", "params": {}}
    os.write(write_fd, (json.dumps(request) + "\n").encode())
    os.close(write_fd)  # EOF after the one request: serving ends
    out = io.StringIO()
    with open(read_fd, "rb", buffering=0) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        monkeypatch.setattr(sys, "stdout", out)
        await asyncio.wait_for(run_stdio(Sidecar.create(plugin)), 5)
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in replies] == [0, 1]
    assert replies[1]["ok"] is True
    err = capsys.readouterr().err
    _assert_clean(err + out.getvalue())
    assert "state store degraded to local state: cannot reach redis://***@127.0.0.1" in err
