"""What the connections of one HTTP server share: its options, the app, live connections."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp

from ._server_cycle import RequestCycle

if TYPE_CHECKING:
    from ._server_conn import HttpConnection


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Limits and timers of the HTTP server."""

    #: An idle keep-alive connection is closed once idle this long (within a sweep interval).
    keep_alive_s: float = 120.0
    #: A request head must arrive whole within this long of its first byte (slow-loris).
    header_timeout_s: float = 30.0
    #: How often the one sweep over the connections applies the two limits above.
    sweep_interval_s: float = 1.0
    #: At shutdown, how long requests in flight get to finish before they are dropped.
    shutdown_grace_s: float = 10.0
    #: How long a connection closed on a client still sending drains it (half-closed).
    linger_s: float = 2.0
    #: A request head (request line and headers) over this many bytes gets a 431.
    max_head_bytes: int = 65536
    #: The listening socket's accept queue.
    backlog: int = 2048


@dataclass(slots=True, eq=False)
class ServerHub:
    """What the connections of one server share: the app, its options and lifespan state,
    the live connections and the apps' tasks."""

    app: ASGIApp
    options: ServerOptions
    loop: asyncio.AbstractEventLoop
    state: dict[str, Any] | None = None
    connections: set[HttpConnection] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    stopping: bool = False
    all_closed: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, cycle: RequestCycle) -> None:
        """Run the app on ``cycle`` in a task of its own."""
        task = self.loop.create_task(cycle.run(self.app))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
