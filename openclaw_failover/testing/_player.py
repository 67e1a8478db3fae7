"""FaultPlayer: plays one scripted fault on one connection, in the server's dialect."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ._dialect import Dialect, StreamPlan
from ._faults import (
    Answer,
    CutStream,
    Fault,
    HangBeforeHeaders,
    HangMidStream,
    HttpError,
    MalformedEvent,
    Ok,
    Reset,
    SilentAfterPreamble,
    StreamError,
)
from ._wire import Conn

__all__ = ["FaultPlayer", "send_json"]

_JSON = "application/json"


async def send_json(
    conn: Conn, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> None:
    """A whole JSON reply with a content length."""
    data = orjson.dumps(body)
    await conn.head(status, {"content-type": _JSON, **(headers or {})}, length=len(data))
    await conn.raw(data)


class FaultPlayer:
    """Turns a fault into writes, sleeps, hangs, FINs and RSTs; the dialect gives the bytes.

    ``fault_answer`` is the answer mid-stream faults cut into; hangs last at most
    ``hang_limit_s`` unless the fault says otherwise; ``reset_pause_s`` lets the client read
    what was sent before a mid-stream RST.
    """

    def __init__(
        self,
        dialect: Dialect,
        *,
        hang_limit_s: float = 30.0,
        reset_pause_s: float = 0.05,
        fault_answer: Answer | None = None,
    ) -> None:
        self.dialect = dialect
        self.hang_limit_s = hang_limit_s
        self.reset_pause_s = reset_pause_s
        self.fault_answer = fault_answer or Answer(text="one two three four five six")

    async def play(self, conn: Conn, fault: Fault, request: Any, *, model: str) -> bool:
        """Play one fault; True when the connection may serve another request."""
        if isinstance(fault, HttpError):
            await self._error(conn, fault, model=model)
            return True
        if isinstance(fault, HangBeforeHeaders):
            await conn.wait_gone(self._limit(fault.limit_s))
            return False
        if isinstance(fault, Reset) and fault.after is None:
            conn.reset()
            return False
        answer = fault.answer if isinstance(fault, Ok) else self.fault_answer
        plan = await self._open_body(conn, fault, answer, request, model=model)
        return await self._body(conn, fault, plan)

    async def _error(self, conn: Conn, fault: HttpError, *, model: str) -> None:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            value = fault.retry_after
            headers["retry-after"] = f"{value:g}" if isinstance(value, float | int) else value
        if fault.retry_after_ms is not None:
            headers["retry-after-ms"] = str(fault.retry_after_ms)
        body = fault.body
        if body is None:
            body = self.dialect.error_body(
                fault.status, model=model, message=fault.message, code=fault.code
            )
        await send_json(conn, fault.status, body, headers)

    async def _open_body(
        self, conn: Conn, fault: Fault, answer: Answer, request: Any, *, model: str
    ) -> StreamPlan:
        """Send the 200 head; the plan of the body (a non-streamed body is split in two)."""
        if self.dialect.wants_stream(request):
            plan = self.dialect.stream_plan(answer, model=model, request=request)
            headers = {
                "content-type": self.dialect.stream_content_type,
                "cache-control": "no-cache",
            }
            await conn.head(200, headers, length=None)
            return plan
        if isinstance(fault, MalformedEvent):
            data = self.dialect.malformed_frame()
        elif isinstance(fault, StreamError):
            data = orjson.dumps(
                self.dialect.error_body(fault.status, model=model, message=None, code=None)
            )
        else:
            data = orjson.dumps(self.dialect.whole_reply(answer, model=model, request=request))
        await conn.head(200, {"content-type": _JSON}, length=len(data))
        half = len(data) // 2
        return StreamPlan(preamble=(), content=(data[:half], data[half:]), closing=())

    async def _body(self, conn: Conn, fault: Fault, plan: StreamPlan) -> bool:
        for frame in plan.preamble:
            await conn.frame(frame)
        if isinstance(fault, SilentAfterPreamble):
            await conn.wait_gone(self._limit(fault.limit_s))
            return False
        if isinstance(fault, Ok) and fault.first_token_delay_s > 0:
            await asyncio.sleep(fault.first_token_delay_s)
        after = getattr(fault, "after", None)
        if not conn.chunked and isinstance(fault, MalformedEvent | StreamError):
            after = None  # the whole body already is the malformed or error reply
        content = list(plan.content)
        for n, frame in enumerate(content):
            if after is not None and n == after:
                return await self._strike(conn, fault, content[n:] + list(plan.closing), plan)
            if n and isinstance(fault, Ok) and fault.chunk_delay_s > 0:
                await asyncio.sleep(fault.chunk_delay_s)
            await conn.frame(frame)
        if after is not None and after >= len(content):
            return await self._strike(conn, fault, list(plan.closing), plan)
        return await self._finish(conn, plan.closing, plan, done=getattr(fault, "done", True))

    async def _strike(self, conn: Conn, fault: Fault, rest: list[bytes], plan: StreamPlan) -> bool:
        """The fault's own move once ``after`` content frames went out."""
        if isinstance(fault, HangMidStream):
            await conn.wait_gone(self._limit(fault.limit_s))
            return False
        if isinstance(fault, Reset):
            await asyncio.sleep(self.reset_pause_s)  # let the client read what was sent
            conn.reset()
            return False
        if isinstance(fault, CutStream):
            following = rest[0] if rest else plan.done
            if fault.mid_event and following:
                await conn.frame(following[: max(1, len(following) // 2)])
            conn.close()
            return False
        if isinstance(fault, MalformedEvent):
            await conn.frame(self.dialect.malformed_frame())
            return await self._finish(conn, rest, plan, done=True)
        if isinstance(fault, StreamError):
            await conn.frame(self.dialect.stream_error_frame(fault.status))
            await conn.end()
            return True
        return await self._finish(conn, rest, plan, done=True)

    async def _finish(
        self, conn: Conn, rest: Sequence[bytes], plan: StreamPlan, *, done: bool
    ) -> bool:
        for frame in rest:
            await conn.frame(frame)
        if done:
            await conn.frame(plan.done)
        await conn.end()
        return True

    def _limit(self, limit_s: float | None) -> float:
        return self.hang_limit_s if limit_s is None else limit_s
