"""The plugin guard's tier of a run when OpenClaw spells provider or model differently from the
config: OpenClaw 2026.9.6 lower-cases provider ids (``normalizeProviderId``), so a local model
must never be read as cloud because of a spelling."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from openclaw_failover._model import Candidate, Provider, RouteTable, Tier
from openclaw_failover._ordering import model_key
from openclaw_failover._plugin_guard import tier_of
from openclaw_failover._ports import Health
from openclaw_failover._sidecar import Sidecar
from tests.fixtures.plugin_host import (
    FALLBACK,
    LOCAL,
    NOW,
    PRIMARY,
    DictStore,
    agent_ctx,
    call_event,
    hook,
    make_plugin,
    make_table,
    tool_payloads,
)

#: A local tier chosen by ``tiers.local`` (an OpenAI-compatible API, so only the list says so).
LMSTUDIO = Candidate("LMStudio", "qwen3", Tier.LOCAL)
#: A local tier by its API (``ollama``), under a mixed-case provider id.
MY_OLLAMA = Candidate("MyOllama", "qwen3:8b", Tier.LOCAL)

COOLING = Health(cooldown_until=NOW + 20, cooldown_reason="rate_limit", last_failure_at=NOW - 10)


@pytest.mark.parametrize(
    ("chain", "provider", "model"),
    [
        ((PRIMARY, LMSTUDIO), "lmstudio", "qwen3"),
        ((PRIMARY, LMSTUDIO), "lmstudio", "qwen3:latest"),
        ((PRIMARY, LMSTUDIO), " LMSTUDIO ", "Qwen3"),
        ((PRIMARY, MY_OLLAMA), "myollama", "qwen3:8b"),
        ((PRIMARY, LOCAL), "Ollama", "qwen3:8b"),
    ],
)
def test_a_local_model_spelled_differently_is_still_local(
    chain: tuple[Candidate, ...], provider: str, model: str
) -> None:
    """Provider id case and whitespace, model case and ``:latest`` never make a local run cloud."""
    assert tier_of(make_table(chain=chain), provider, model) is Tier.LOCAL


def with_ollama_provider(table: RouteTable, pid: str) -> RouteTable:
    """``table`` with provider ``pid`` speaking the Ollama API."""
    providers = dict(table.providers) | {pid: Provider(pid, "ollama", "http://x")}
    return replace(table, providers=MappingProxyType(providers))


def test_a_configured_ollama_api_provider_is_local_under_openclaws_spelling() -> None:
    """A provider whose API is ``ollama`` is local even for a model the chain does not list,
    when OpenClaw reports its id lower-cased."""
    table = with_ollama_provider(make_table(chain=(PRIMARY,)), "HomeBox")
    assert tier_of(table, "homebox", "llama3.2") is Tier.LOCAL


def test_openclaws_own_ollama_provider_is_local_when_not_configured() -> None:
    """OpenClaw's bundled ``ollama`` provider (discovered, not in models.providers) speaks the
    Ollama API, which the config reads as local: a model picked there is local too."""
    assert tier_of(make_table(chain=(PRIMARY,)), "ollama", "llama3.2") is Tier.LOCAL


def test_cloud_models_stay_cloud_under_any_spelling() -> None:
    """The loose comparison does not turn a cloud model local."""
    table = make_table(chain=(PRIMARY, LMSTUDIO))
    assert tier_of(table, "Anthropic", "Claude-Opus-4-6") is Tier.CLOUD
    assert tier_of(table, "openai", "gpt-5.4-mini") is Tier.CLOUD


async def test_exec_is_blocked_when_openclaw_lowercases_a_local_provider() -> None:
    """End to end through the sidecar: model_call_started reports ``lmstudio`` for the config's
    ``LMStudio`` local tier, and exec is then blocked."""
    sidecar = Sidecar.create(make_plugin(make_table(chain=(PRIMARY, LMSTUDIO)))[0])
    seen = Candidate("lmstudio", "qwen3")
    await hook(sidecar, "model_call_started", call_event(seen), {"runId": "run-1"})
    event, ctx = tool_payloads("exec", {"command": "ls"})
    result = await hook(sidecar, "before_tool_call", event, ctx)
    assert result is not None
    assert result["block"] is True


def test_the_bridge_policy_lists_local_providers_as_openclaw_spells_them() -> None:
    """The bridge's fail-safe matches provider ids exactly, so the policy names each local
    provider lower-cased too (OpenClaw's spelling) besides the config's."""
    table = with_ollama_provider(make_table(chain=(PRIMARY, LMSTUDIO, MY_OLLAMA)), "MyOllama")
    data = Sidecar.create(make_plugin(table)[0]).hello()["policy"]
    providers = {c["provider"] for c in data["localCandidates"]}
    assert {"lmstudio", "LMStudio", "myollama", "MyOllama"} <= providers
    assert {"myollama", "MyOllama"} <= set(data["localProviders"])


def test_a_model_of_a_mixed_provider_spelled_differently_is_local() -> None:
    """A provider with a cloud and a local candidate (``tiers.local`` naming one model): an
    unlisted spelling of its model is read as local (fail safe), never matched to the cloud one."""
    chain = (Candidate("gw", "qwen3"), Candidate("gw", "qwen3-small", Tier.LOCAL))
    table = make_table(chain=chain)
    assert tier_of(table, "gw", "qwen3") is Tier.CLOUD
    assert tier_of(table, "gw", "QWEN3:latest") is Tier.LOCAL


async def test_steering_finds_the_selected_model_under_openclaws_spelling() -> None:
    """before_model_resolve with ``ctx.modelProviderId`` lower-cased still finds the cooling
    primary configured as ``Anthropic`` and steers past it."""
    primary = Candidate("Anthropic", "claude-opus-4-6")
    store = DictStore({model_key(primary): COOLING})
    plugin = make_plugin(make_table(chain=(primary, FALLBACK, LOCAL)), store)[0]
    ctx = agent_ctx(Candidate("anthropic", "claude-opus-4-6"))
    result = await hook(Sidecar.create(plugin), "before_model_resolve", {}, ctx)
    assert result == {"providerOverride": "openai", "modelOverride": "gpt-5.4-mini"}
