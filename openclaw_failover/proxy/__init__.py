"""The failover proxy: an OpenAI-compatible Starlette app in front of the engine."""

from __future__ import annotations

from ._app import create_app, open_http_client
from ._limits import LimitedTransport, ProviderLimiter, ProviderLimits
from ._runtime import ChatEngine

__all__ = [
    "ChatEngine",
    "LimitedTransport",
    "ProviderLimiter",
    "ProviderLimits",
    "create_app",
    "open_http_client",
]
