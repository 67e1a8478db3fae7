"""Wire adapters, one per upstream API, all behind ``Transport``."""

from __future__ import annotations

import httpx

from .._ports import Transport

#: APIs the proxy can speak, as OpenClaw names them in ``models.providers.<id>.api``.
SUPPORTED_APIS: frozenset[str] = frozenset({"openai-completions", "anthropic-messages", "ollama"})


def build_transports(client: httpx.AsyncClient) -> dict[str, Transport]:
    """One transport per supported API, all sharing the pooled ``client``."""
    from .openai import OpenAICompatTransport

    transports: dict[str, Transport] = {"openai-completions": OpenAICompatTransport(client)}
    try:
        from .anthropic import AnthropicTransport
        from .ollama import OllamaTransport
    except ImportError:  # the adapters arrive with the providers issue
        return transports
    transports["anthropic-messages"] = AnthropicTransport(client)
    transports["ollama"] = OllamaTransport(client)
    return transports
