"""The fake providers' vocabulary: scripted answers and faults, independent of any wire format.

A fault says *what happens on the connection* (an answer, an HTTP error, a hang, a reset, a cut
stream, ...). A :class:`~openclaw_failover.testing._dialect.Dialect` says *what the bytes look
like* (OpenAI chat completions, Anthropic Messages, Ollama). The server in ``_fake_server.py``
plays any fault in any dialect; :class:`~openclaw_failover.testing._script.Script` picks the
fault for each request by key, model and request index.

Extension point: a new wire format is one new Dialect (see ``_dialect.py``); a new kind of
misbehaviour is one new Fault class here plus its branch in ``_fake_server._play``. Nothing else
needs to change. Faults round-trip through JSON (:func:`fault_to_json`, :func:`fault_from_json`)
so a fake running in a subprocess can be scripted from a test over its control endpoint.

``after`` counts content frames (text pieces and tool-call frames) sent before the fault
strikes; the dialect's preamble (e.g. OpenAI's empty role chunk) always goes first and does
not count. For a non-streamed request the body is split in two halves, and ``after >= 1``
means "after the first half".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "Answer",
    "CutStream",
    "Fault",
    "HangBeforeHeaders",
    "HangMidStream",
    "HttpError",
    "MalformedEvent",
    "Ok",
    "Reset",
    "SilentAfterPreamble",
    "StreamError",
    "ToolCall",
    "empty",
    "fault_from_json",
    "fault_to_json",
    "no_done",
    "slow_first_token",
    "tool_reply",
]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A scripted tool call: its id, function name and arguments as an object."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    id: str = "call_fake_1"


@dataclass(frozen=True, slots=True)
class Answer:
    """A scripted successful answer. ``pieces`` defaults to ``text`` split after each space."""

    text: str = "Hello from the fake provider."
    pieces: tuple[str, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 7
    completion_tokens: int | None = None
    id: str = "1"

    def __post_init__(self) -> None:
        if self.pieces is None:
            words = self.text.split(" ")
            split = [w + " " for w in words[:-1]] + [words[-1]]
            object.__setattr__(self, "pieces", tuple(p for p in split if p))
        if self.completion_tokens is None:
            tokens = len(self.pieces or ()) + len(self.tool_calls)
            object.__setattr__(self, "completion_tokens", tokens)


@dataclass(frozen=True, slots=True)
class Ok:
    """A 200 answer, streamed or not as the request asks.

    ``first_token_delay_s`` waits after the headers and preamble (a slow first token);
    ``chunk_delay_s`` waits between content frames; ``done=False`` ends a complete stream
    without the dialect's end marker (OpenAI's ``data: [DONE]``).
    """

    answer: Answer = Answer()
    first_token_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    done: bool = True


@dataclass(frozen=True, slots=True)
class HttpError:
    """An HTTP error reply in the dialect's error shape.

    ``retry_after`` goes out verbatim as ``Retry-After`` (seconds or an HTTP date),
    ``retry_after_ms`` as ``retry-after-ms``. ``body`` replaces the dialect's body entirely;
    ``message`` and ``code`` adjust it (e.g. OpenAI's ``insufficient_quota`` on a 429).
    """

    status: int
    retry_after: str | float | None = None
    retry_after_ms: int | None = None
    message: str | None = None
    code: str | None = None
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class HangBeforeHeaders:
    """Read the request, then send nothing until the client leaves, the server stops or
    ``limit_s`` (default: the server's hang limit) passes; then close."""

    limit_s: float | None = None


@dataclass(frozen=True, slots=True)
class SilentAfterPreamble:
    """200 headers and the dialect's empty preamble (OpenAI: an empty role chunk), then silence."""

    limit_s: float | None = None


@dataclass(frozen=True, slots=True)
class HangMidStream:
    """Send ``after`` content frames, then silence (bounded like the other hangs)."""

    after: int = 1
    limit_s: float | None = None


@dataclass(frozen=True, slots=True)
class Reset:
    """Abort the connection with a TCP RST (SO_LINGER 0): before the headers when ``after`` is
    None, else after ``after`` content frames."""

    after: int | None = None


@dataclass(frozen=True, slots=True)
class CutStream:
    """Send ``after`` content frames, then close (FIN) without finishing the body;
    ``mid_event`` first writes half of the next frame."""

    after: int = 1
    mid_event: bool = False


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """After ``after`` content frames, one unparseable event; the stream then ends normally."""

    after: int = 1


@dataclass(frozen=True, slots=True)
class StreamError:
    """After ``after`` content frames, the dialect's in-stream error event, then a clean end."""

    after: int = 1
    status: int = 500


Fault = (
    Ok
    | HttpError
    | HangBeforeHeaders
    | SilentAfterPreamble
    | HangMidStream
    | Reset
    | CutStream
    | MalformedEvent
    | StreamError
)

_KINDS: Mapping[str, type[Any]] = MappingProxyType(
    {
        "ok": Ok,
        "http_error": HttpError,
        "hang_before_headers": HangBeforeHeaders,
        "silent_after_preamble": SilentAfterPreamble,
        "hang_mid_stream": HangMidStream,
        "reset": Reset,
        "cut_stream": CutStream,
        "malformed_event": MalformedEvent,
        "stream_error": StreamError,
    }
)
_NAMES: Mapping[type[Any], str] = MappingProxyType({v: k for k, v in _KINDS.items()})


def empty() -> Ok:
    """A 200 with no content and no tool call (``empty_response``)."""
    return Ok(Answer(text="", pieces=()))


def slow_first_token(delay_s: float, text: str = "Hello from the fake provider.") -> Ok:
    """A normal answer whose first content frame comes ``delay_s`` after the headers."""
    return Ok(Answer(text=text), first_token_delay_s=delay_s)


def no_done(text: str = "Hello from the fake provider.") -> Ok:
    """A complete stream that ends without the end marker."""
    return Ok(Answer(text=text), done=False)


def tool_reply(name: str, arguments: Mapping[str, Any], *, call_id: str = "call_fake_1") -> Ok:
    """An answer that is one tool call and no text."""
    call = ToolCall(name, MappingProxyType(dict(arguments)), call_id)
    return Ok(Answer(text="", pieces=(), tool_calls=(call,)))


def fault_kind(fault: Fault) -> str:
    """The fault's kind name (``ok``, ``http_error``, ``reset``, ...)."""
    return _NAMES[type(fault)]


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """A JSON-ready dict: ``{"kind": ..., <fields>}``."""
    data: dict[str, Any] = _plain(fault)
    data["kind"] = fault_kind(fault)
    return data


def fault_from_json(data: Mapping[str, Any]) -> Fault:
    """Rebuild a fault from :func:`fault_to_json` output; raises ValueError naming the problem."""
    kind = data.get("kind")
    cls = _KINDS.get(str(kind))
    if cls is None:
        raise ValueError(f"fault kind: found {kind!r}; expected one of {sorted(_KINDS)}")
    fields = {k: v for k, v in data.items() if k != "kind"}
    if cls is Ok and "answer" in fields:
        fields["answer"] = _answer_from_json(fields["answer"])
    try:
        made: Fault = cls(**fields)
    except TypeError as exc:
        raise ValueError(f"fault {kind}: {exc}") from None
    return made


def _answer_from_json(data: Mapping[str, Any]) -> Answer:
    calls = tuple(ToolCall(**c) for c in data.get("tool_calls", ()))
    pieces = data.get("pieces")
    fields = {k: v for k, v in data.items() if k not in ("tool_calls", "pieces")}
    return Answer(**fields, pieces=None if pieces is None else tuple(pieces), tool_calls=calls)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
