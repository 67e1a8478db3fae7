"""The built-in provider catalog: base URLs, wire APIs and env-key prefixes of well-known providers.

Chains may name these providers without a ``models.providers`` entry (design: "Keys and
profiles"). Anything given in the config wins over the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What the package knows of one provider without being told."""

    base_url: str
    api: str
    env_prefix: str


_GOOGLE = CatalogEntry(
    base_url="https://generativelanguage.googleapis.com/v1beta/openai",
    api="openai-completions",
    # OpenClaw's google provider reads GEMINI_API_KEY, not GOOGLE_API_KEY.
    env_prefix="GEMINI",
)

#: Providers known by id. ``google`` is Google's OpenAI-compatible endpoint.
KNOWN_PROVIDERS: Mapping[str, CatalogEntry] = MappingProxyType(
    {
        "anthropic": CatalogEntry("https://api.anthropic.com", "anthropic-messages", "ANTHROPIC"),
        "openai": CatalogEntry("https://api.openai.com/v1", "openai-completions", "OPENAI"),
        "openrouter": CatalogEntry(
            "https://openrouter.ai/api/v1", "openai-completions", "OPENROUTER"
        ),
        "groq": CatalogEntry("https://api.groq.com/openai/v1", "openai-completions", "GROQ"),
        "mistral": CatalogEntry("https://api.mistral.ai/v1", "openai-completions", "MISTRAL"),
        "google": _GOOGLE,
        "google-openai-compat": _GOOGLE,
        "ollama": CatalogEntry("http://127.0.0.1:11434", "ollama", "OLLAMA"),
    }
)

#: Every ``models.providers.<id>.api`` value OpenClaw 2026.9.6 accepts (reference section 2).
OPENCLAW_APIS: frozenset[str] = frozenset(
    {
        "openai-completions",
        "openai-responses",
        "openai-chatgpt-responses",
        "anthropic-messages",
        "google-generative-ai",
        "google-vertex",
        "github-copilot",
        "bedrock-converse-stream",
        "ollama",
        "pi-messages",
        "azure-openai-responses",
    }
)

#: The API OpenClaw assumes when a provider has a ``baseUrl`` but no ``api``.
DEFAULT_API = "openai-completions"

#: ``apiKey`` values that are placeholders, not secrets (Ollama needs some value for discovery).
DUMMY_KEYS: frozenset[str] = frozenset({"ollama-local", "ollama", "local", "none", "no-key"})


def env_prefix(provider: str) -> str:
    """The ``<PROVIDER>`` part of OpenClaw's env-key names for ``provider``."""
    entry = KNOWN_PROVIDERS.get(provider)
    if entry is not None:
        return entry.env_prefix
    return "".join(ch if ch.isalnum() else "_" for ch in provider).upper()
