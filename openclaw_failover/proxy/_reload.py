"""Config reloads on SIGHUP and on file change; an invalid new file keeps the old table."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .._model import RouteTable, Settings
from .._ports import AuditRecord
from ._runtime import ProxyRuntime, log


class _LoadResult(Protocol):
    """The part of ``config.LoadResult`` the reloader reads."""

    @property
    def table(self) -> RouteTable | None: ...

    @property
    def problems(self) -> tuple[Any, ...]: ...


Loader = Callable[[str], _LoadResult]


def default_loader(*, kind: str | None = None, environ: Mapping[str, str] | None = None) -> Loader:
    """A loader over ``config.load_route_table`` with the proxy's ``--kind`` and environment."""

    def load(path: str) -> _LoadResult:
        from ..config import load_route_table

        result: _LoadResult = load_route_table(path, kind=kind, environ=environ)
        return result

    return load


def _stamp(path: str) -> tuple[int, int, int, bytes] | None:
    """What the file is now: stat fields plus a digest of its bytes.

    The digest catches an edit that keeps size, inode and mtime (a same-size change within
    one mtime tick, on coarse-mtime file systems a whole second): stat alone misses it for
    good. Config files are small, so reading one every poll is cheap.
    """
    try:
        st = os.stat(path)
        with open(path, "rb") as handle:
            digest = hashlib.blake2b(handle.read(), digest_size=16).digest()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, digest)


#: Settings read once at start-up (store, audit sink, listener): a reload cannot change them.
_RESTART_ONLY: tuple[tuple[str, Callable[[Settings], object]], ...] = (
    ("state.backend", lambda s: s.state.backend),
    ("state.url", lambda s: s.state.url),
    ("state.namespace", lambda s: s.state.namespace),
    ("state.onUnavailable", lambda s: s.state.on_unavailable),
    ("state.directory", lambda s: s.state.directory),
    ("audit.path", lambda s: s.audit.path),
    ("audit.maxBytes", lambda s: s.audit.max_bytes),
    ("audit.keep", lambda s: s.audit.keep),
    ("proxy.host", lambda s: s.proxy.host),
    ("proxy.port", lambda s: s.proxy.port),
)


def restart_only_changes(running: Settings, loaded: Settings) -> list[str]:
    """Names (never values: ``state.url`` holds a password) of start-up-only settings that
    differ between the running process and the loaded file."""
    return [name for name, read in _RESTART_ONLY if read(running) != read(loaded)]


def _summary(problems: tuple[Any, ...]) -> str:
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    shown = "; ".join(getattr(p, "message", str(p)) for p in errors[:3])
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"{len(errors)} error(s): {shown}{more}"


class ConfigReloader:
    """Loads ``path`` again when asked, on SIGHUP, or when its stamp changes; applies valid tables.

    Loading runs in a worker thread so the event loop keeps serving; the new table is applied
    on the loop. The result (loaded vs on-disk version, last problem) is in ``runtime.reload``.
    """

    def __init__(
        self, runtime: ProxyRuntime, path: str, *, load: Loader, poll_s: float = 1.0
    ) -> None:
        self._rt = runtime
        self._path = path
        self._load = load
        self._poll_s = poll_s
        self._stamp = _stamp(path)
        # what the store, audit sink and listener were built from (they are not rebuilt)
        self._running = runtime.engine.table.settings if runtime.engine is not None else None
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[bool]] = set()

    async def reload(self, reason: str) -> bool:
        """Load the file now; True when a new table was applied."""
        async with self._lock:
            self._stamp = _stamp(self._path)
            try:
                result = await asyncio.to_thread(self._load, self._path)
            except Exception as exc:  # an unreadable file must never take the proxy down
                return self._refused(reason, f"{type(exc).__name__}: {exc}")
            if result.table is None:
                return self._refused(reason, _summary(result.problems))
            return self._apply(result.table, reason)

    def _refused(self, reason: str, problem: str) -> bool:
        status = self._rt.reload
        status.disk_version = None
        status.last_error = problem
        status.last_checked_at = self._rt.clock.now()
        self._rt.metrics.reloads.labels("invalid").inc()
        log.warning(
            "config reload (%s) of %s refused; still serving route version %s: %s",
            reason,
            self._path,
            status.loaded_version,
            problem,
        )
        return False

    def _apply(self, table: RouteTable, reason: str) -> bool:
        status = self._rt.reload
        status.disk_version = table.version
        status.last_error = None
        status.last_checked_at = self._rt.clock.now()
        engine = self._rt.require_engine()
        pending = restart_only_changes(self._running, table.settings) if self._running else []
        if pending:  # in /readyz until a restart (or the file goes back)
            status.last_error = (
                f"route version {table.version} loaded, but {', '.join(pending)} changed: "
                "these take effect only after a restart"
            )
        # The version leaves secrets out, so a rotated key (or proxy token) keeps it: compare
        # the tables too, or a key replaced after a revocation would never reach the wire.
        if table.version == status.loaded_version and table == engine.table:
            self._rt.metrics.reloads.labels("unchanged").inc()
            return False
        if table.version == status.loaded_version:
            reason = f"{reason}, keys or token changed"
        try:
            engine.replace_table(table)
        except Exception as exc:  # the engine keeps its old table: say so, keep watching
            return self._refused(reason, f"applying it failed: {type(exc).__name__}: {exc}")
        for listener in self._rt.table_listeners:
            try:
                listener(table)
            except Exception:  # the table is in use already; one listener must not undo that
                log.exception("config reload: a listener failed on route version %s", table.version)
        previous, status.loaded_version = status.loaded_version, table.version
        self._rt.metrics.reloads.labels("applied").inc()
        log.info("config reloaded (%s): route version %s -> %s", reason, previous, table.version)
        if pending:
            log.warning("config reload of %s: %s", self._path, status.last_error)
        self._rt.emit(
            AuditRecord(
                event="config_loaded",
                ts=self._rt.clock.now(),
                instance=self._rt.instance,
                route_version=table.version,
                config_path=self._path,
                detail=reason,
            )
        )
        return True

    async def watch(self) -> None:
        """Poll the file's stamp until cancelled; a changed stamp triggers a reload."""
        while True:
            await asyncio.sleep(self._poll_s)
            if _stamp(self._path) != self._stamp:
                try:
                    await self.reload("file_changed")
                except Exception:  # a bug here must not end hot reload for the process's life
                    log.exception("config reload of %s failed", self._path)

    def install_sighup(self) -> bool:
        """Reload on SIGHUP (main thread only); False where signals cannot be installed."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (RuntimeError, ValueError, NotImplementedError, AttributeError):
            return False
        return True

    def _on_sighup(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload("sighup"))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def remove_sighup(self) -> None:
        """Undo :meth:`install_sighup`."""
        with contextlib.suppress(RuntimeError, ValueError, NotImplementedError, AttributeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
