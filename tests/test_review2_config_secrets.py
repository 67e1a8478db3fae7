"""Findings from load_route_table carry no secret, whoever shows them.

The CLI masks its own output, but the reload path logs ``Problem.message`` and puts it in
/readyz (``last_reload_error``), and ``require_route_table`` raises a ``ConfigError`` built from
the messages: the loader's findings themselves must not hold a key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover._errors import ConfigError, Problem
from openclaw_failover.config import LoadResult, require_route_table
from tests.fixtures.config import base_openclaw, base_standalone

#: A Mistral-style key: 32 letters and digits, no prefix, so nothing "key-shaped" to spot.
PLAIN_SECRET = "Xy7kP2mQ9rT4vW8zA1bC3dE5fG6hJ0nL"
#: A Hugging Face token: key-shaped, and short enough for a finding to quote it whole.
HF_TOKEN = "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"

Load = Callable[..., LoadResult]


def _text(problems: tuple[Problem, ...]) -> str:
    return "\n".join(f"{p.rule} {p.path} {p.found} {p.expected} {p.fix}" for p in problems)


def _with_primary(ref: str) -> dict[str, Any]:
    doc = base_standalone()
    doc["agents"]["defaults"]["model"]["primary"] = ref
    return doc


@pytest.mark.parametrize("ref", ["${MISTRAL_API_KEY}", "${MISTRAL_API_KEY}/x"])
def test_env_secret_substituted_into_a_chain_entry_is_not_in_findings(
    ref: str, load_doc: Load
) -> None:
    """A key variable written where a model ref goes used to be quoted in chain.invalid."""
    result = load_doc(_with_primary(ref), env={"MISTRAL_API_KEY": PLAIN_SECRET})
    assert result.table is None
    assert any(p.path == "agents.defaults.model.primary" for p in result.errors)
    assert PLAIN_SECRET not in _text(result.problems)


def test_configured_key_under_any_name_is_masked(load_doc: Load) -> None:
    """A variable used as a key in auth[] is a secret whatever it is called."""
    doc = _with_primary("${TEAM_CREDS}")
    doc["providers"]["mistral"] = {"auth": [{"key": "${TEAM_CREDS}"}]}
    result = load_doc(doc, env={"TEAM_CREDS": PLAIN_SECRET})
    assert result.table is None
    assert PLAIN_SECRET not in _text(result.problems)


def test_dotenv_secret_is_masked(load_doc: Load, tmp_path: Path) -> None:
    """A key from $OPENCLAW_STATE_DIR/.env is masked like one from the process env."""
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (state / ".env").write_text(f"GROQ_API_KEY={PLAIN_SECRET}\n")
    result = load_doc(_with_primary("${GROQ_API_KEY}"))
    assert result.table is None
    assert PLAIN_SECRET not in _text(result.problems)


def test_key_pasted_into_api_is_not_quoted(load_doc: Load) -> None:
    """api is next to apiKey: a token pasted one line off was quoted by provider.unknown-api."""
    doc = base_openclaw()
    doc["models"]["providers"]["ollama"]["api"] = HF_TOKEN
    result = load_doc(doc, name="openclaw.json")
    assert result.table is None
    assert any(p.path == "models.providers.ollama.api" for p in result.errors)
    assert HF_TOKEN not in _text(result.problems)


def test_key_pasted_into_api_stays_out_of_config_error(
    write_config: Callable[..., Path], config_env: dict[str, str]
) -> None:
    """require_route_table's ConfigError (engine and sidecar start) carries no key either."""
    doc = base_standalone()
    doc["models"]["providers"]["ollama"]["api"] = "${OPENAI_API_KEY}"
    path = write_config(doc)
    with pytest.raises(ConfigError) as caught:
        require_route_table(path, environ=config_env)
    assert config_env["OPENAI_API_KEY"] not in str(caught.value)
    assert "models.providers.ollama.api" in str(caught.value)


def test_an_unknown_api_name_is_still_quoted(load_doc: Load) -> None:
    """Masking keeps the typo in view: a plain api name is still shown."""
    doc = base_openclaw()
    doc["models"]["providers"]["ollama"]["api"] = "openai-completion"
    result = load_doc(doc, name="openclaw.json")
    (problem,) = [p for p in result.errors if p.path == "models.providers.ollama.api"]
    assert "'openai-completion'" in problem.found
