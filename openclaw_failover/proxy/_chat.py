"""``POST /v1/chat/completions`` as a plain ASGI endpoint: hold, then stream or answer whole.

The response is held (headers included) until the engine returned an answer whose first token
arrived, or decided the hard stop; so failover before the first byte is invisible and the hard
stop is a real 429. After the first byte, a failure ends the stream with an explicit error
event and no ``[DONE]``, never a truncated success.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import Message, Receive, Scope, Send

from .._clock import SystemClock
from .._errors import AttemptRecord, StateStoreError, StreamInterrupted, UpstreamError
from .._exchange import Answer, AnswerMeta, ChatRequest
from .._idle import IdleWatch, Watchdog
from .._ports import AuditRecord
from ._body import BodyTooLarge, ClientGone, body_timeout_error, read_body
from ._context import RequestContext, current_request
from ._request import (
    BadRequest,
    RequestHeaders,
    chat_request,
    new_request_id,
    parse_body,
    parse_headers,
    request_id_in,
    route_missing,
    route_of,
)
from ._runtime import ProxyRuntime, log
from ._wire_errors import WireError, openai_error, stream_error_event, upstream_error

_DONE = b"data: [DONE]\n\n"
_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


def _h(pairs: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode("latin-1", "replace")) for k, v in pairs.items()]


def no_answer_headers(*, attempts: int, route_version: str) -> dict[str, str]:
    """The ``x-openclaw-failover-*`` headers of a response nobody answered."""
    return {
        "x-openclaw-failover-provider": "none",
        "x-openclaw-failover-model": "none",
        "x-openclaw-failover-profile": "none",
        "x-openclaw-failover-tier": "none",
        "x-openclaw-failover-attempts": str(attempts),
        "x-openclaw-failover-route-version": route_version,
        "x-openclaw-failover-downgraded": "false",
    }


#: How many answers' encoded headers the endpoint keeps (a table has a handful of slots).
_MAX_METAS = 1024

#: How long a request runs before its disconnect watch starts: most answers of a fast
#: upstream are done by then and never pay for the watch's task; a client that leaves sooner
#: is noticed this much later.
WATCH_AFTER_S = 0.05


class _DisconnectWatch:
    """Cancels the request's task when the client goes away, so the upstream is released.

    The watching task starts only once the request has run ``WATCH_AFTER_S``: until then the
    watch is one entry in the endpoint's start watchdog (one timer for every request, none
    armed or cancelled per request)."""

    __slots__ = ("_dog", "_owner", "_receive", "_task", "gone")

    def __init__(self, receive: Receive, starts: Watchdog) -> None:
        self.gone = False
        self._receive = receive
        self._owner = asyncio.current_task()
        self._task: asyncio.Task[None] | None = None
        self._dog: Watchdog | None = starts
        due = starts.monotonic() + WATCH_AFTER_S
        starts.live[self] = due
        loop = asyncio.get_running_loop()
        if due < starts.due or starts.loop is not loop:
            starts.arm(due, loop)

    def expire(self) -> None:
        """``WATCH_AFTER_S`` passed (the watchdog calls this): start watching."""
        self._dog = None
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.gone = True
        if self._owner is not None:
            self._owner.cancel()

    def stop(self) -> None:
        """Stop watching (call before the last body message goes out). Idempotent.

        The watch lets go of its watchdog entry and its task: the cancelled task's traceback
        holds ``_watch``'s frame, so a watch that still pointed at the task would make a
        reference cycle per request, garbage only the cyclic collector frees (and a full
        collection is a pause).
        """
        dog, self._dog = self._dog, None
        if dog is not None:
            dog.live.pop(self, None)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()


class ChatCompletions:
    """The ASGI endpoint; one instance per app, reading everything from the runtime."""

    def __init__(self, runtime: ProxyRuntime) -> None:
        self._rt = runtime
        #: The body deadlines of every request, on one real-time timer (a slow client is
        #: timed on the wall clock, whatever clock the engine runs on).
        self._body_deadlines = Watchdog(SystemClock())
        #: When each request's disconnect watch starts, on one real-time timer.
        self._watch_starts = Watchdog(SystemClock())
        #: ``id(meta)`` -> (the meta, its encoded headers); the entry holds the meta, so no
        #: other object can take its id while the entry lives.
        self._meta_headers: dict[int, tuple[AnswerMeta, list[tuple[bytes, bytes]]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        engine = self._rt.require_engine()
        table = engine.table
        try:
            headers = parse_headers(scope["headers"])
        except BadRequest as exc:
            request_id = request_id_in(scope["headers"])
            await self._reject(
                send, exc.error, request_id, table.version, route="?", started=started
            )
            return
        try:
            with IdleWatch(self._rt.body_timeout_s, self._body_deadlines):
                raw = await read_body(
                    receive,
                    limit=table.settings.proxy.max_body_bytes,
                    declared=headers.content_length,
                )
            body = parse_body(raw, scope["headers"])
            route = route_of(body["model"], table)
            request = chat_request(body, headers, route=route, table=table)
        except (BadRequest, BodyTooLarge) as exc:
            await self._reject(
                send, exc.error, headers.request_id, table.version, route="?", started=started
            )
            return
        except TimeoutError:
            error = body_timeout_error(self._rt.body_timeout_s)
            await self._reject(
                send, error, headers.request_id, table.version, route="?", started=started
            )
            return
        except ClientGone:
            return
        current_request.set(RequestContext(request.request_id, request.trace_id, request.route))
        watch = _DisconnectWatch(receive, self._watch_starts)
        try:
            if request.stream:
                await self._stream(request, headers, send, watch, started)
            else:
                await self._whole(request, headers, send, watch, started)
        except asyncio.CancelledError:
            if not watch.gone:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            self._finish(request, "client_gone", started)
        finally:
            watch.stop()

    async def _whole(
        self,
        request: ChatRequest,
        headers: RequestHeaders,
        send: Send,
        watch: _DisconnectWatch,
        started: float,
    ) -> None:
        engine = self._rt.require_engine()
        try:
            meta, payload = await engine.complete(request)
        except Exception as exc:
            watch.stop()
            await self._engine_failed(send, exc, request, started)
            return
        self._rt.metrics.record_answer(meta, first_token_s=time.perf_counter() - started)
        data = orjson.dumps(payload)
        response = [_JSON, (b"content-length", str(len(data)).encode())]
        response += self._answer_headers(meta, headers)
        watch.stop()
        await send({"type": "http.response.start", "status": 200, "headers": response})
        await send({"type": "http.response.body", "body": data})
        self._finish(request, _answered(meta), started)

    async def _stream(
        self,
        request: ChatRequest,
        headers: RequestHeaders,
        send: Send,
        watch: _DisconnectWatch,
        started: float,
    ) -> None:
        engine = self._rt.require_engine()
        try:
            answer = await engine.open(request)
        except Exception as exc:
            watch.stop()
            await self._engine_failed(send, exc, request, started)
            return
        try:
            meta = answer.meta
            self._rt.metrics.record_answer(meta, first_token_s=time.perf_counter() - started)
            start: Message = {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_SSE_HEADERS, *self._answer_headers(meta, headers)],
            }
            await send(start)
            final, outcome = await _pump(answer, send, meta, _wants_usage(request.body))
        finally:
            await answer.aclose()
        watch.stop()
        await send({"type": "http.response.body", "body": final})
        self._finish(request, outcome, started)

    def _answer_headers(
        self, meta: AnswerMeta, headers: RequestHeaders
    ) -> list[tuple[bytes, bytes]]:
        request_id = headers.request_id.encode("latin-1", "replace")
        entry = self._meta_headers.get(id(meta))
        if entry is None:  # the engine keeps one meta per plain first try: encode it once
            if len(self._meta_headers) >= _MAX_METAS:
                self._meta_headers.clear()
            entry = self._meta_headers[id(meta)] = (meta, _h(meta.headers()))
        return [(b"x-request-id", request_id), *entry[1]]

    async def _engine_failed(
        self, send: Send, exc: Exception, request: ChatRequest, started: float
    ) -> None:
        table = self._rt.require_engine().table
        attempts: tuple[AttemptRecord, ...] = ()
        if isinstance(exc, UpstreamError):
            error = upstream_error(
                exc, route=request.route, route_version=table.version, now=self._rt.clock.now()
            )
            attempts = exc.attempts
            self._rt.metrics.record_attempts(attempts)
        elif isinstance(exc, KeyError):  # the route vanished in a reload since parsing
            error = route_missing(request.route, table)
        elif isinstance(exc, StateStoreError):
            log.error("request %s refused: %s", request.request_id, exc)
            error = state_unavailable()
        else:
            log.error("request %s failed inside the proxy", request.request_id, exc_info=exc)
            error = internal_error()
        extra = no_answer_headers(attempts=len(attempts), route_version=table.version)
        await send_error(send, error, request.request_id, extra)
        self._finish(request, error.outcome, started)

    async def _reject(
        self,
        send: Send,
        error: WireError,
        request_id: str,
        version: str,
        *,
        route: str,
        started: float,
    ) -> None:
        request_id = request_id or new_request_id()
        await send_error(
            send, error, request_id, no_answer_headers(attempts=0, route_version=version)
        )
        self._rt.metrics.finish(
            route=route,
            outcome="client_error",
            stream=False,
            duration_s=time.perf_counter() - started,
        )
        self._rt.emit(
            AuditRecord(
                event="outcome",
                ts=self._rt.clock.now(),
                request_id=request_id,
                instance=self._rt.instance,
                route_version=version,
                outcome="client_error",
                status=error.status,
            )
        )

    def _finish(self, request: ChatRequest, outcome: str, started: float) -> None:
        self._rt.metrics.finish(
            route=request.route,
            outcome=outcome,
            stream=request.stream,
            duration_s=time.perf_counter() - started,
        )


async def _pump(answer: Answer, send: Send, meta: AnswerMeta, usage: bool) -> tuple[bytes, str]:
    """Relay the answer's chunks as SSE events; return the last bytes to send and the outcome.

    The upstream is always asked for usage (the audit's); its closing usage chunk, which has
    no choices, goes on only when ``usage`` (the caller asked for it, as OpenAI has it)."""
    dumps = orjson.dumps
    try:
        async for chunk in answer:
            if not usage and not chunk.get("choices") and "usage" in chunk:
                continue
            await send(
                {
                    "type": "http.response.body",
                    "body": b"data: " + dumps(chunk) + b"\n\n",
                    "more_body": True,
                }
            )
    except StreamInterrupted as exc:
        return stream_error_event(exc), "stream_error"
    except Exception as exc:  # once the response started, end it explicitly, never silently
        log.exception("stream from %s/%s failed", meta.provider, meta.model)
        return stream_error_event(exc), "stream_error"
    return _DONE, _answered(meta)


def _wants_usage(body: Mapping[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _answered(meta: AnswerMeta) -> str:
    return "answered_downgraded" if meta.downgraded else "answered"


async def send_error(send: Send, error: WireError, request_id: str, extra: dict[str, str]) -> None:
    headers = [
        _JSON,
        (b"content-length", str(len(error.body)).encode()),
        (b"x-request-id", request_id.encode("latin-1", "replace")),
    ]
    headers += _h(extra)
    headers += [(k.encode(), v.encode()) for k, v in error.headers]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": error.body})


def internal_error() -> WireError:
    """The response for a bug in the proxy: a clean OpenAI error, never a stack trace."""
    return openai_error(
        500,
        "openclaw-failover: internal error (see the proxy log)",
        type_="server_error",
        code="internal_error",
        outcome="internal_error",
    )


def state_unavailable() -> WireError:
    """The refusal while the state store (redis or file) fails and ``state.onUnavailable`` is
    closed."""
    return openai_error(
        503,
        "openclaw-failover: the state store is unavailable and state.onUnavailable is "
        "'closed', so no request is routed until it is back (see /readyz and the proxy log)",
        type_="server_error",
        code="state_unavailable",
        headers=(("retry-after", "5"),),
        outcome="state_unavailable",
    )
