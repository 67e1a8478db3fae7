"""The ASGI lifespan protocol for the HTTP server: startup before serving, shutdown after."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message

from .._errors import FailoverError

log = logging.getLogger("openclaw_failover.proxy")

#: How long the app gets to return after completing its shutdown.
_RETURN_WAIT_S = 5.0


class StartupFailed(FailoverError):
    """The app's lifespan startup failed; ``detail`` is its message (or the exception)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"application startup failed: {detail}")


class Lifespan:
    """Runs the app on a ``lifespan`` scope in a task of its own.

    An app that raises before it first calls ``receive`` does not speak the protocol (it
    was never told of the startup) and is served without it, with no ``state``; one that
    raises after that has failed its startup."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.state: dict[str, Any] = {}
        self.supported = True
        self._received = False
        self._reported = False  # the app sent a "failed" message (it raises after that)
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._startup: asyncio.Future[str | None] | None = None
        self._shutdown: asyncio.Future[str | None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Send ``lifespan.startup``; return once the app completes it.

        Raises:
            StartupFailed: the app sent ``lifespan.startup.failed`` or raised.
        """
        loop = asyncio.get_running_loop()
        self._startup = loop.create_future()
        self._shutdown = loop.create_future()
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = loop.create_task(self._main())
        failure = await self._startup
        if failure is not None:
            log.error("application startup failed: %s", failure)
            raise StartupFailed(failure)

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the app to complete it (and return)."""
        task, shutdown = self._task, self._shutdown
        if task is None or shutdown is None or task.done():
            return
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        failure = await shutdown
        if failure is not None:
            log.error("application shutdown failed: %s", failure)
        await asyncio.wait([task], timeout=_RETURN_WAIT_S)

    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self._app(scope, self._receive, self._send)
        except Exception as exc:
            if not self._received:
                log.debug("the app does not support the ASGI lifespan protocol: %r", exc)
            else:
                if not self._reported:
                    log.error("Exception in the ASGI lifespan", exc_info=exc)
                _settle(self._startup, f"{type(exc).__name__}: {exc}")
        finally:
            if not self._received:
                self.supported = False
            _settle(self._startup, None)
            _settle(self._shutdown, None)

    async def _receive(self) -> Message:
        self._received = True
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            _settle(self._startup, None)
        elif kind == "lifespan.startup.failed":
            self._reported = True
            _settle(self._startup, str(message.get("message", "")))
        elif kind == "lifespan.shutdown.complete":
            _settle(self._shutdown, None)
        elif kind == "lifespan.shutdown.failed":
            self._reported = True
            _settle(self._shutdown, str(message.get("message", "")))


def _settle(future: asyncio.Future[str | None] | None, failure: str | None) -> None:
    """Resolve ``future`` with ``failure`` unless it already has an outcome."""
    if future is not None and not future.done():
        future.set_result(failure)
