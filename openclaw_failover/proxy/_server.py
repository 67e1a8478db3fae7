"""The proxy's own HTTP/1.1 server for ASGI 3 apps (HTTP and lifespan; no websockets).

One asyncio protocol per connection parses requests with httptools (``_server_conn``); each
request runs the app in its own task (``_server_cycle``). Timers are not armed per request:
one sweep per server closes idle keep-alive connections and heads sent too slowly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator

from starlette.types import ASGIApp

from ._server_conn import HttpConnection
from ._server_hub import ServerHub, ServerOptions
from ._server_lifespan import Lifespan, StartupFailed

log = logging.getLogger("openclaw_failover.proxy")

__all__ = ["HttpServer", "ServerOptions", "StartupFailed", "bind_socket", "run", "serve"]

#: After the grace period, how long cancelled requests get to unwind.
_CANCEL_WAIT_S = 2.0


def bind_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port`` with SO_REUSEADDR (IPv6 when
    the host has a colon; ``[::1]`` and ``::1`` alike). Port 0 takes any free port."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class HttpServer:
    """Serves one ASGI app on one listening socket: :meth:`start` runs the lifespan startup
    and begins accepting; :meth:`shutdown` drains the connections and runs the lifespan
    shutdown."""

    def __init__(self, app: ASGIApp, *, options: ServerOptions | None = None) -> None:
        self._app = app
        self.options = options or ServerOptions()
        self._lifespan = Lifespan(app)
        self._hub: ServerHub | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopped = False
        #: The bound (host, port), once started.
        self.address: tuple[str, int] | None = None

    @property
    def connections(self) -> tuple[HttpConnection, ...]:
        """The open connections (for status and tests)."""
        return tuple(self._hub.connections) if self._hub is not None else ()

    async def start(
        self, *, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
    ) -> tuple[str, int]:
        """Run the lifespan startup, then listen on ``sock`` or a new socket on
        ``host:port``; return the bound address.

        Raises:
            StartupFailed: the app's startup failed (nothing was bound).
            OSError: the address could not be bound (the lifespan was shut down).
        """
        loop = asyncio.get_running_loop()
        await self._lifespan.startup()
        lifespan = self._lifespan
        hub = ServerHub(
            self._app, self.options, loop, state=lifespan.state if lifespan.supported else None
        )
        try:
            listener = await self._listen(hub, host=host, port=port, sock=sock)
        except BaseException:
            await lifespan.shutdown()
            raise
        self._hub = hub
        self._sweeper = loop.create_task(_sweep(hub))
        name = listener.getsockname()
        self.address = (str(name[0]), int(name[1]))
        return self.address

    async def _listen(
        self, hub: ServerHub, *, host: str, port: int, sock: socket.socket | None
    ) -> socket.socket:
        listener = (
            sock if sock is not None else bind_socket(host, port, backlog=hub.options.backlog)
        )
        try:
            self._listener = await hub.loop.create_server(
                lambda: HttpConnection(hub), sock=listener, backlog=hub.options.backlog
            )
        except BaseException:
            if sock is None:
                listener.close()
            raise
        return listener

    async def shutdown(self) -> None:
        """Stop accepting, close idle connections, give requests in flight
        ``shutdown_grace_s`` to finish (then drop them), run the lifespan shutdown.
        Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._hub is not None:
            await self._drain(self._hub)
        await self._lifespan.shutdown()

    async def _drain(self, hub: ServerHub) -> None:
        hub.stopping = True
        if self._listener is not None:
            self._listener.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(hub.connections):
            conn.shutdown()
        deadline = hub.loop.time() + self.options.shutdown_grace_s
        if hub.connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.all_closed.wait(), self.options.shutdown_grace_s)
        if hub.tasks:
            await asyncio.wait(list(hub.tasks), timeout=max(0.0, deadline - hub.loop.time()))
        if hub.connections or hub.tasks:
            log.warning(
                "shutdown: dropping %d connection(s) and %d request(s) still open",
                len(hub.connections),
                len(hub.tasks),
            )
            self.force_close()
            if hub.tasks:
                await asyncio.wait(list(hub.tasks), timeout=_CANCEL_WAIT_S)

    def force_close(self) -> None:
        """Drop every connection and cancel every request now."""
        hub = self._hub
        if hub is None:
            return
        for conn in list(hub.connections):
            conn.abort()
        for task in list(hub.tasks):
            task.cancel()


async def _sweep(hub: ServerHub) -> None:
    """Every ``sweep_interval_s``: close connections idle or stuck in a head too long."""
    while True:
        await asyncio.sleep(hub.options.sweep_interval_s)
        now = hub.loop.time()
        for conn in list(hub.connections):
            conn.expire(now)


async def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    options: ServerOptions | None = None,
    sock: socket.socket | None = None,
    on_started: Callable[[tuple[str, int]], object] | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM (handled when called from the main thread; a
    second signal drops what is still open), then shut down gracefully. Logs one INFO line
    with the bound address and calls ``on_started`` with it once accepting.

    Raises:
        StartupFailed: the app's lifespan startup failed.
        OSError: the address could not be bound.
    """
    server = HttpServer(app, options=options)
    stop = asyncio.Event()
    with _stop_on_signals(stop, server):
        address = await server.start(host=host, port=port, sock=sock)
        try:
            log.info("openclaw-failover proxy running on %s (Press CTRL+C to quit)", _url(address))
            if on_started is not None:
                on_started(address)
            await stop.wait()
        finally:
            await server.shutdown()


def _url(address: tuple[str, int]) -> str:
    host, port = address
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event, server: HttpServer) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop``, a second one force-closes ``server``; only in the
    main thread. SIGHUP is the app's (it reloads its config)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def on_signal() -> None:
        if stop.is_set():
            server.force_close()
            return
        log.info("openclaw-failover proxy shutting down")
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # no add_signal_handler (Windows)
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run(app: ASGIApp, *, host: str, port: int, keep_alive_s: float = 120.0) -> None:
    """Serve ``app`` on ``host:port`` under uvloop (asyncio where uvloop is missing) until
    SIGINT or SIGTERM; idle keep-alive connections close after ``keep_alive_s``.

    Raises:
        StartupFailed: the app's lifespan startup failed.
        OSError: the address could not be bound.
    """
    main = serve(app, host=host, port=port, options=ServerOptions(keep_alive_s=keep_alive_s))
    try:
        import uvloop
    except ImportError:  # Windows, or a platform without wheels
        asyncio.run(main)
        return
    uvloop.run(main)
