"""FakeProviderServer: a real HTTP server on 127.0.0.1 that plays scripted faults in a dialect.

It runs its own event loop in a background thread, so sync and async tests use it alike and a
hang in the fake never blocks the test's loop. Every hang ends by itself: when the client
disconnects, when the server stops, or after ``hang_limit_s``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any, Self

import orjson

from ._dialect import Dialect
from ._faults import Answer, Fault, fault_kind, fault_to_json
from ._player import FaultPlayer, send_json
from ._script import RecordedRequest, Rule, Script, Scripted
from ._wire import BadRequest, Conn, HttpRequest, read_request

__all__ = ["FakeProviderServer"]


class FakeProviderServer:
    """A scripted upstream for one dialect. Use as a context manager, or ``start``/``stop``.

    ``models`` is what the model-list endpoint reports; ``fault_answer`` is the answer that
    mid-stream faults cut into. See :mod:`._faults` for the faults and :mod:`._script` for
    how rules pick one per request.
    """

    def __init__(
        self,
        dialect: Dialect,
        *,
        models: Sequence[str] = ("fake-model",),
        default: Scripted | None = None,
        hang_limit_s: float = 30.0,
        reset_pause_s: float = 0.05,
        fault_answer: Answer | None = None,
        port: int = 0,
        control: bool = False,
    ) -> None:
        self.dialect = dialect
        self.control = control
        self.models = list(models)
        self.player = FaultPlayer(
            dialect,
            hang_limit_s=hang_limit_s,
            reset_pause_s=reset_pause_s,
            fault_answer=fault_answer,
        )
        self.rules = Script(default)
        self.port = port
        self.connections = 0
        self._requests: list[RecordedRequest] = []
        self._chat_count = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._conns: set[Conn] = set()

    # ------------------------------------------------------------------ scripting

    def script(self, *faults: Fault, key: str | None = None, model: str | None = None) -> Self:
        """Queue ``faults`` for the next matching requests, one each, in order."""
        for fault in faults:
            self.rules.add(Rule(fault, key=key, model=model, times=1))
        return self

    def always(
        self,
        fault: Scripted,
        *,
        key: str | None = None,
        model: str | None = None,
        times: int | None = None,
    ) -> Self:
        """Play ``fault`` (or a fault drawn from a ``Mix``) for every matching request, or the
        next ``times`` of them."""
        self.rules.add(Rule(fault, key=key, model=model, times=times))
        return self

    def on_request(self, index: int, fault: Fault) -> Self:
        """Play ``fault`` for the chat request with this 0-based index."""
        self.rules.add(Rule(fault, request=index, times=1))
        return self

    def reset_script(self) -> None:
        """Forget every rule; the default answer plays again."""
        self.rules.clear()

    # ------------------------------------------------------------------ inspection

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The base URL a client is configured with, e.g. ``http://127.0.0.1:PORT/v1``."""
        return self.base_url + self.dialect.base_path

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a copy), in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat requests (the ones faults answer)."""
        return [r for r in self.requests if r.index >= 0]

    def keys_seen(self) -> list[str | None]:
        """The API key of every chat request, in order."""
        return [r.key for r in self.chat_requests]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind an ephemeral port on 127.0.0.1 and serve in a background thread."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="fake-provider", daemon=True
        )
        self._thread.start()
        if not ready.wait(10.0) or failure:
            raise RuntimeError(f"fake provider did not start: {failure[:1]}")
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close every connection (ending hangs), stop the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout_s)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self.port, limit=1 << 20)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # reported to start(), which raises
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.reset()

    # ------------------------------------------------------------------ serving

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(reader, writer)
        self._conns.add(conn)
        self.connections += 1
        try:
            while not conn.closed:
                request = await read_request(reader)
                if request is None or not await self._dispatch(conn, request):
                    break
        except (BadRequest, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that left or sent garbage ends its connection, nothing else
        except asyncio.CancelledError:
            # The server stops: end quietly (Python 3.11's stream server logs the cancelled
            # connection task as "Exception in callback").
            pass
        finally:
            self._conns.discard(conn)
            conn.close()

    async def _dispatch(self, conn: Conn, request: HttpRequest) -> bool:
        dialect = self.dialect
        if self.control and request.path.startswith("/_fake/"):
            return await self._control(conn, request)
        if request.method == "GET" and request.path in dialect.models_paths:
            self._record(request, None, index=-1, fault="models")
            await self._json(conn, 200, dialect.model_list(self.models))
            return True
        if request.method != "POST" or request.path not in dialect.chat_paths:
            self._record(request, None, index=-1, fault="not_found")
            body = dialect.error_body(404, model="", message=None, code=None)
            await self._json(conn, 404, body)
            return True
        try:
            parsed = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            self._record(request, None, index=-1, fault="bad_json")
            body = dialect.error_body(400, model="", message="invalid JSON body", code=None)
            await self._json(conn, 400, body)
            return True
        model = dialect.request_model(parsed)
        key = dialect.request_key(request.headers)
        with self._lock:
            index = self._chat_count
            self._chat_count += 1
        fault = self.rules.pick(key=key, model=model, index=index)
        kind = fault_kind(fault)
        self._record(request, parsed, index=index, fault=kind, key=key, model=model, played=fault)
        return await self.player.play(conn, fault, parsed, model=model)

    async def _control(self, conn: Conn, request: HttpRequest) -> bool:
        """``/_fake/rules`` (POST a list to append, DELETE to clear), ``/_fake/requests`` (GET)."""
        if request.path == "/_fake/rules" and request.method == "POST":
            try:
                rules = [Rule.from_json(r) for r in orjson.loads(request.body)]
            except (ValueError, KeyError, TypeError) as exc:
                await self._json(conn, 400, {"error": str(exc)})
                return True
            for rule in rules:
                self.rules.add(rule)
            await self._json(conn, 200, {"added": len(rules)})
        elif request.path == "/_fake/rules" and request.method == "DELETE":
            self.rules.clear()
            await self._json(conn, 200, {"cleared": True})
        elif request.path == "/_fake/requests" and request.method == "GET":
            await self._json(conn, 200, [_summary(r) for r in self.requests])
        else:
            await self._json(conn, 404, {"error": f"no control route {request.path}"})
        return True

    def _record(self, request: HttpRequest, parsed: Any, **fields: Any) -> None:
        fields.setdefault("key", self.dialect.request_key(request.headers))
        fields.setdefault("model", "")
        entry = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            body=request.body,
            json=parsed,
            at=time.monotonic(),
            **fields,
        )
        with self._lock:
            self._requests.append(entry)

    async def _json(self, conn: Conn, status: int, body: Any) -> None:
        await send_json(conn, status, body)


def _summary(request: RecordedRequest) -> dict[str, Any]:
    """A recorded request as JSON for the control endpoint (the body as parsed JSON)."""
    return {
        "index": request.index,
        "method": request.method,
        "path": request.path,
        "headers": dict(request.headers),
        "json": request.json,
        "key": request.key,
        "model": request.model,
        "fault": request.fault,
        "played": None if request.played is None else fault_to_json(request.played),
        "at": request.at,
    }
