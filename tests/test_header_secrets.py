"""Credentials in a provider's ``headers`` are secrets like its keys: masked in every output.

OpenClaw lets a provider carry extra headers (``models.providers.<id>.headers``); gateways and
some providers take their credential there (``X-Api-Key``, ``Authorization: Bearer ...``), and an
upstream may echo it back in an error body.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from openclaw_failover._errors import RequestRejected
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import header_credentials
from openclaw_failover.config import load_route_table
from openclaw_failover.config._redact import known_secrets, redact, scrub_text
from tests.fixtures.engine import Spec, error, make_engine, make_table
from tests.test_ops_secrets import _run, echo_url  # noqa: F401  (echo_url: a fixture)

INLINE_TOKEN = "hdr-inline-SECRET-5b7c9d"
ENV_TOKEN = "hdr-env-SECRET-31e8aa"  # in a variable whose name does not look secret


def _config(tmp_path: Path, base_url: str) -> tuple[Path, dict[str, str]]:
    headers = {
        "X-Api-Key": INLINE_TOKEN,
        "X-Gateway-Auth": "Bearer ${GATEWAY_VALUE}",
        "X-Title": "my-assistant-app",
    }
    document = {
        "agents": {"defaults": {"model": {"primary": "gw/m1"}}},
        "models": {
            "providers": {
                "gw": {"baseUrl": base_url, "api": "openai-completions", "headers": headers}
            }
        },
        "providers": {"gw": {"auth": [{"key": "${GW_API_KEY}", "profile": "main"}]}},
        "failover": {
            "state": {"backend": "memory"},
            "proxy": {"port": 9},
            "audit": {"path": str(tmp_path / "audit.jsonl")},
        },
    }
    path = tmp_path / "failover.json5"
    path.write_text(json.dumps(document))
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "OPENCLAW_STATE_DIR": str(tmp_path / "state"),
        "GATEWAY_VALUE": ENV_TOKEN,
        "GW_API_KEY": "sk-gw-key-SECRET-0123456789ab",
        "COLUMNS": "200",
    }
    env.pop("OPENCLAW_CONFIG_PATH", None)
    return path, env


def test_known_secrets_has_credential_headers_not_others(tmp_path: Path) -> None:
    path, env = _config(tmp_path, "http://127.0.0.1:7/v1")
    result = load_route_table(path, environ=env)
    assert result.table is not None, result.problems
    assert result.table.providers["gw"].headers["X-Gateway-Auth"] == f"Bearer {ENV_TOKEN}"
    secrets = known_secrets(env, config_path=path, table=result.table)
    assert INLINE_TOKEN in secrets  # written in the file
    assert ENV_TOKEN in secrets  # resolved from a variable named like anything
    assert f"Bearer {ENV_TOKEN}" in secrets
    assert "my-assistant-app" not in secrets  # X-Title is not a credential
    text = scrub_text(f"got {INLINE_TOKEN} and token {ENV_TOKEN}", secrets)
    assert INLINE_TOKEN not in text
    assert ENV_TOKEN not in text


def test_redact_masks_credential_headers_in_a_document() -> None:
    doc = {"models": {"providers": {"gw": {"headers": {
        "Authorization": "Bearer abcdefgh12345",
        "X-Api-Key": "${GW_HEADER_KEY}",
        "X-Title": "my-assistant-app",
    }}}}}  # fmt: skip
    masked = redact(doc, secrets=frozenset())
    headers = masked["models"]["providers"]["gw"]["headers"]
    assert headers["Authorization"] == "***"
    assert headers["X-Api-Key"] == "${GW_HEADER_KEY}"  # a reference names no secret
    assert headers["X-Title"] == "my-assistant-app"


def test_probe_against_an_echoing_upstream_prints_no_header_credential(
    tmp_path: Path,
    echo_url: str,  # noqa: F811
) -> None:
    path, env = _config(tmp_path, echo_url)
    commands = (["probe"], ["probe", "--json"], ["status"], ["doctor"])
    outputs = [_run([*args, "--config", str(path)], env) for args in commands]
    assert '"verdict": "auth"' in outputs[1]  # the probe reached the echo, which refused it
    for output in outputs:
        assert INLINE_TOKEN not in output
        assert ENV_TOKEN not in output


async def test_an_upstream_echoing_a_header_credential_in_a_400_is_masked_for_the_caller() -> None:
    """A 400's own words go back to the caller (what to fix); a provider header credential
    echoed in them, or its token alone, is masked first (as the key already is)."""
    table = make_table([Spec("p", "m1", keys=("ka",))])
    headers = {"X-Gateway-Auth": f"Bearer {ENV_TOKEN}", "X-Title": "my-assistant-app"}
    provider = dataclasses.replace(table.providers["p"], headers=headers)
    table = dataclasses.replace(table, providers={"p": provider})
    rig = make_engine(table)
    words = f"bad header value {ENV_TOKEN} for app my-assistant-app"
    rig.upstream.set(error(400, body={"error": {"message": words}}), model="m1")
    with pytest.raises(RequestRejected) as info:
        await rig.engine.complete(
            ChatRequest(body={"messages": [{"role": "user", "content": "x"}]})
        )
    assert ENV_TOKEN not in info.value.upstream_message
    assert info.value.upstream_message == "bad header value *** for app my-assistant-app"


def test_a_short_header_value_is_not_taken_for_a_credential() -> None:
    """X-Use-Auth: "1" or "true" is no secret: masking it would turn every "1" in a 400's
    words into *** (the same minimum length as known_secrets)."""
    headers = {"X-Use-Auth": "1", "X-Auth-Enabled": "true", "Authorization": "Bearer abcdefgh12"}
    assert header_credentials(headers) == ("Bearer abcdefgh12", "abcdefgh12")
