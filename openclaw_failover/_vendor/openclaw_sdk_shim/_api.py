"""The ``PluginApi`` protocol: what a host hands ``register(api)`` (``OpenClawPluginApi``).

Python names are the host's in snake_case: ``api.on``, ``api.registerTool`` -> ``register_tool``,
``api.registerCli``, ``api.registerService``, ``api.logger``, ``api.pluginConfig``,
``api.registrationMode``. Handlers are async and take the typed event and ctx.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ._hooks import HookName, RegistrationMode
from ._results import CliSpec, HookResult, ServiceSpec, ToolSpec

#: ``(event, ctx) -> result | None``; the event/ctx types follow ``HOOK_PAYLOADS``.
HookHandler = Callable[[Any, Any], Awaitable[HookResult | None]]


class PluginLogger(Protocol):
    """``PluginLogger``: info, warn and error lines into the host's log."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def error(self, message: str) -> None: ...


class PluginApi(Protocol):
    """The registration API a host hands to ``register(api)``."""

    @property
    def id(self) -> str: ...

    @property
    def registration_mode(self) -> RegistrationMode: ...

    @property
    def plugin_config(self) -> Mapping[str, Any]:
        """``plugins.entries.<id>.config``."""
        ...

    @property
    def config(self) -> Mapping[str, Any]:
        """The host's whole config snapshot (``openclaw.json``)."""
        ...

    @property
    def logger(self) -> PluginLogger: ...

    def on(
        self,
        hook: HookName,
        handler: HookHandler,
        *,
        priority: int = 0,
        timeout_ms: int | None = None,
    ) -> None:
        """Register a typed hook handler; higher priority runs first."""
        ...

    def register_tool(self, tool: ToolSpec) -> None:
        """Register an agent tool (it must be in the manifest's ``contracts.tools``)."""
        ...

    def register_cli(self, cli: CliSpec) -> None:
        """Register ``openclaw <name> ...`` commands."""
        ...

    def register_service(self, service: ServiceSpec) -> None:
        """Register a background service (started in full registration mode only)."""
        ...
