"""A started answer: the chunks after the first token, the stream-idle deadline, the local-tier
guard, and aggregation into a whole ``chat.completion`` body.

Once the first chunk has gone to the caller nothing fails over: a break becomes
:class:`StreamInterrupted`, and the caller ends its stream with an explicit error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import orjson

from ._errors import StreamInterrupted
from ._exchange import AnswerMeta
from ._localguard import LocalToolGuard
from ._model import FailureReason
from ._ports import MalformedEvent, TransportFailure
from ._upstream import Chunk, Failed, Opened, close_quietly

__all__ = ["AnswerHooks", "StreamAnswer", "aggregate"]

#: What ``anext`` gives at the end of the upstream stream.
_END: Any = object()


class AnswerHooks(Protocol):
    """What the attempt loop does when the answer's stream ends, breaks or misbehaves."""

    def malformed(self, event: MalformedEvent) -> None:
        """Audit a skipped, unparseable event."""
        ...

    async def interrupted(self, failure: Failed | TransportFailure) -> StreamInterrupted:
        """Record a break after the first token; return the error to raise."""
        ...

    def finished(self, outcome: str, blocked: tuple[str, ...]) -> None:
        """Write the outcome line (answered, client_error) and any tool_blocked lines."""
        ...

    def held_break(self, failure: Failed | TransportFailure) -> Failed:
        """Audit a break of an answer held whole (nothing sent yet) as a failed attempt; the
        attempt loop cools it and goes on."""
        ...


class _Held(StreamInterrupted):
    """A break while :meth:`StreamAnswer.hold` reads: caught there, never raised further."""


class StreamAnswer:
    """The :class:`~openclaw_failover._exchange.Answer` the engine returns. Iterate it once.

    A plain async iterator (not an async generator): no per-answer generator bookkeeping, and
    ``aclose`` needs no generator to unwind.
    """

    __slots__ = (
        "_closed",
        "_done",
        "_ended",
        "_guard",
        "_head",
        "_held",
        "_hooks",
        "_idle_s",
        "_iterating",
        "_meta",
        "_opened",
        "_reading",
        "_take_ready",
        "_watch",
    )

    def __init__(
        self,
        opened: Opened,
        *,
        meta: AnswerMeta,
        idle_s: float,
        guard: LocalToolGuard | None,
        hooks: AnswerHooks,
    ) -> None:
        self._opened = opened
        self._meta = meta
        self._idle_s = idle_s
        self._guard = guard
        self._hooks = hooks
        self._watch = opened.watch  # already on the stream-idle limit
        #: The upstream's chunks may offer ``take_ready()``: the next chunk already parsed,
        #: or None when the next one must be waited for (then ``anext`` does, under the
        #: stream-idle deadline). A chunk at hand needs no deadline, no await.
        self._take_ready: Callable[[], Chunk | MalformedEvent | None] | None = getattr(
            opened.chunks, "take_ready", None
        )
        head = opened.head if guard is None else _guarded(guard, opened.head)
        head.reverse()  # taken from the end: list.pop() is the cheapest way to pass them on
        self._head = head
        self._reading = True
        self._iterating = False
        self._done = False
        self._ended = False  # the upstream stream ended by itself (nothing left to close)
        self._closed = False
        #: While :meth:`hold` reads: a break is kept here instead of ending the answer.
        self._held: list[Failed | TransportFailure] | None = None

    @property
    def meta(self) -> AnswerMeta:
        """Who answered."""
        return self._meta

    def __aiter__(self) -> StreamAnswer:
        if self._iterating:
            raise RuntimeError("an answer can be iterated only once")
        self._iterating = True
        return self

    async def __anext__(self) -> Chunk:
        pending = self._head
        while True:
            if pending:
                return pending.pop()
            if not self._reading:
                self._finish("answered")
                raise StopAsyncIteration
            take = self._take_ready
            item: Any = take() if take is not None else None
            try:
                if item is None:
                    with self._watch:  # the stream-idle deadline
                        # The end as a value, not a StopAsyncIteration raised through here.
                        item = await anext(self._opened.chunks, _END)
            except TimeoutError:
                self._reading = False
                raise await self._break(_idle_failure(self._idle_s)) from None
            except TransportFailure as exc:
                self._reading = False
                raise await self._break(exc) from None
            if item is _END:
                self._reading = False
                self._ended = True
                if self._guard is not None:
                    pending.extend(reversed(self._guard.finish()))
            elif isinstance(item, MalformedEvent):
                self._hooks.malformed(item)  # skipped, audited
            elif self._guard is None:
                chunk: Chunk = item
                return chunk
            else:
                pending.extend(reversed(self._guard.feed(item)))

    async def _break(self, failure: Failed | TransportFailure) -> StreamInterrupted:
        self._done = True
        if self._held is not None:
            self._held.append(failure)
            return _Held(())
        return await self._hooks.interrupted(failure)

    async def hold(self) -> Failed | None:
        """Read the whole answer now, for a caller sent nothing before its end (a request
        not streamed): its chunks wait, in order, for the iteration. A break before the end
        is not the caller's, since nothing went out: the upstream is released and the break
        comes back as the attempt's failure, so the attempt loop can fail over."""
        breaks: list[Failed | TransportFailure] = []
        self._held = breaks
        chunks: list[Chunk] = []
        try:
            while True:
                chunks.append(await self.__anext__())
        except StopAsyncIteration:
            chunks.reverse()
            self._head = chunks
            return None
        except _Held:
            await self.aclose()
            return self._hooks.held_break(breaks[0])
        except BaseException:  # cancelled (the caller left) or a bug: release the upstream
            await self.aclose()
            raise
        finally:
            self._held = None

    def _finish(self, outcome: str) -> None:
        if self._done:
            return
        self._done = True
        blocked = tuple(self._guard.blocked) if self._guard is not None else ()
        self._hooks.finished(outcome, blocked)

    async def aclose(self) -> None:
        """Release the upstream connection; an answer closed before its end is a client_error."""
        if self._closed:
            return
        self._closed = True
        delivered = not self._reading and not self._head  # the upstream ended, all passed on
        self._reading = False
        # An iterator that ended has nothing to unwind: only the reply is released.
        await close_quietly(self._opened.context, None if self._ended else self._opened.chunks)
        if not self._done:  # read to its end, the outcome line is already written
            self._finish("answered" if delivered else "client_error")


def _guarded(guard: LocalToolGuard, head: list[Chunk]) -> list[Chunk]:
    out: list[Chunk] = []
    for chunk in head:
        out.extend(guard.feed(chunk))
    return out


def _idle_failure(idle_s: float) -> Failed:
    detail = f"stream idle for {idle_s:g} s"
    return Failed(FailureReason.TIMEOUT, None, None, detail, "StreamIdleTimeout", idle_s * 1000.0)


#: The delta fields ``_merge_choice`` merges itself; the rest go through ``_merge_other``.
_MERGED = frozenset({"role", "content", "tool_calls"})


def aggregate(chunks: Iterable[Chunk], *, model: str) -> dict[str, Any]:
    """The whole ``chat.completion`` body for a stream's chunks (tool-call deltas merged)."""
    first: Chunk | None = None
    choices: dict[int, dict[str, Any]] = {}
    usage: Any = None
    for chunk in chunks:
        first = first or chunk
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            _merge_choice(choices, choice)
    body: dict[str, Any] = {
        "id": (first or {}).get("id", "chatcmpl-failover"),
        "object": "chat.completion",
        "created": (first or {}).get("created", 0),
        "model": model,
        "choices": [_finish_choice(i, choices[i]) for i in sorted(choices)],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _merge_choice(choices: dict[int, dict[str, Any]], choice: Any) -> None:
    if not isinstance(choice, dict):
        return
    index = _int(choice.get("index"))
    acc = choices.get(index)
    if acc is None:
        acc = choices[index] = {"role": "assistant", "content": [], "calls": [], "at": {}}
        acc["finish"] = None
    delta = choice.get("delta") or {}
    role = delta.get("role")
    if role:
        acc["role"] = role
    content = delta.get("content")
    if content:
        acc["content"].append(content)
    calls = delta.get("tool_calls")
    if calls:
        _merge_calls(acc, calls if isinstance(calls, list) else [calls])
    if len(delta) > ("role" in delta) + ("content" in delta) + ("tool_calls" in delta):
        _merge_other(acc, delta)
    if choice.get("logprobs"):
        _merge_logprobs(acc, choice["logprobs"])
    finish = choice.get("finish_reason")
    if finish is not None:
        acc["finish"] = finish


def _merge_other(acc: dict[str, Any], delta: dict[str, Any]) -> None:
    """The delta's other fields (``refusal``, ``reasoning_content``, ``reasoning``, a legacy
    ``function_call``...): text sent in pieces is joined, objects are merged field by field,
    any other value is kept as last sent."""
    other: dict[str, Any] = acc.setdefault("other", {})
    for key, value in delta.items():
        if key not in _MERGED and value is not None:
            other[key] = _joined(other.get(key), value)


def _joined(old: Any, new: Any) -> Any:
    if isinstance(new, str):
        return old + new if isinstance(old, str) else new
    if isinstance(new, dict):
        merged = dict(old) if isinstance(old, dict) else {}
        for key, value in new.items():
            if value is not None:
                merged[key] = _joined(merged.get(key), value)
        return merged
    return new


def _merge_logprobs(acc: dict[str, Any], logprobs: Any) -> None:
    """Each chunk's ``logprobs.content`` / ``logprobs.refusal`` tokens, in order."""
    if not isinstance(logprobs, dict):
        return
    merged: dict[str, list[Any]] = acc.setdefault("logprobs", {})
    for key in ("content", "refusal"):
        tokens = logprobs.get(key)
        if isinstance(tokens, list):
            merged.setdefault(key, []).extend(tokens)


def _merge_calls(acc: dict[str, Any], calls: list[Any]) -> None:
    """Tool-call deltas into whole calls, in order of first appearance. A delta goes on the
    call at its ``index``, unless it brings an ``id`` other than that call's: some servers
    number every call 0, and two calls must not be glued into one unrunnable name."""
    at: dict[int, dict[str, str]] = acc["at"]
    for call in calls:
        if not isinstance(call, dict):
            continue
        index, call_id = _int(call.get("index")), call.get("id")
        slot = at.get(index)
        if slot is None or (call_id and slot["id"] and call_id != slot["id"]):
            slot = at[index] = {"id": "", "type": "function", "name": "", "arguments": ""}
            acc["calls"].append(slot)
        slot["id"] = call_id or slot["id"]
        slot["type"] = call.get("type") or slot["type"]
        fn = call.get("function") or {}
        slot["name"] += _text(fn.get("name"))
        slot["arguments"] += _text(fn.get("arguments"))


def _int(value: Any) -> int:
    """A chunk's ``index``; missing, null or not a number is 0."""
    return value if isinstance(value, int) else 0


def _text(value: Any) -> str:
    """A name or arguments piece as text: arguments some servers send as an object are JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _finish_choice(index: int, acc: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": acc["role"],
        "content": "".join(acc["content"]) if acc["content"] else None,
    }
    if acc["calls"]:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": c["type"],
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in acc["calls"]
        ]
    other = acc.get("other")
    if other:
        message.update({k: v for k, v in other.items() if k not in message})
    logprobs = acc.get("logprobs")
    return {
        "index": index,
        "message": message,
        "finish_reason": acc["finish"],
        "logprobs": {"content": None, "refusal": None, **logprobs} if logprobs else None,
    }
