"""State store implementations: memory, file and redis, behind ``StateStore``.

:func:`build_store` picks one from the plugin block's ``state`` section. The file and redis
stores are imported only when chosen, so the optional ``redis`` client is never required.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import ConfigError, Problem
from .._model import StateSettings
from .._ports import StateStore
from .memory import MemoryStateStore, forward_only

if TYPE_CHECKING:
    from .file import FileStateStore

__all__ = ["FileStateStore", "MemoryStateStore", "build_store", "forward_only"]


def build_store(settings: StateSettings, *, fingerprint_salt: bytes = b"") -> StateStore:
    """The store ``settings`` asks for; raises :class:`ConfigError` naming a missing field.

    ``fingerprint_salt`` is the salt the route table's state keys were built with: a Redis
    store writes it back when Redis lost it (restarted empty), so gateways started afterwards
    build the same keys."""
    if settings.backend == "memory":
        return MemoryStateStore()
    if settings.backend == "file":
        if not settings.directory:
            raise ConfigError((_missing("state.directory", "a state directory path"),))
        from .file import FileStateStore

        return FileStateStore(settings.directory, on_unavailable=settings.on_unavailable)
    if settings.backend == "redis":
        if settings.url is None:
            raise ConfigError((_missing("state.url", "a redis:// URL"),))
        from .redis import RedisStateStore

        return RedisStateStore(
            settings.url.reveal(),
            namespace=settings.namespace,
            on_unavailable=settings.on_unavailable,
            fingerprint_salt=fingerprint_salt,
        )
    raise ConfigError(
        (
            Problem(
                rule="state-backend",
                path="state.backend",
                found=repr(settings.backend),
                expected='"memory", "file" or "redis"',
            ),
        )
    )


def _missing(path: str, expected: str) -> Problem:
    return Problem(
        rule="state-missing", path=path, found="nothing", expected=expected, fix=f"set {path}"
    )


def __getattr__(name: str) -> object:
    if name == "FileStateStore":
        from .file import FileStateStore

        return FileStateStore
    raise AttributeError(name)
