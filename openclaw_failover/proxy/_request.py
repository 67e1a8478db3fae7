"""Turning one HTTP request (headers + JSON body) into a ``ChatRequest``, or a clear 400/404."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .._exchange import ChatRequest, Mode
from .._model import RouteTable
from ._wire_errors import WireError, openai_error

MODE_HEADER = b"x-openclaw-failover-mode"
DEADLINE_HEADER = b"x-openclaw-failover-deadline-ms"
_MODES: dict[bytes, Mode] = {b"interactive": "interactive", b"batch": "batch"}
_HEX = frozenset("0123456789abcdef")
#: Client headers worth passing upstream (end-to-end tracing); everything else stays here.
_FORWARDED = frozenset({b"traceparent", b"tracestate"})
#: What a forwarded header may hold (W3C trace context is printable ASCII); anything else
#: could not even be put on the upstream request.
_PRINTABLE = re.compile(rb"[\x20-\x7e]{1,512}")
#: Top-level fields whose JSON type is checked here, so a wrong type is a 400 naming the field.
_TYPES: dict[str, tuple[type, ...]] = {
    "stream": (bool,),
    "stream_options": (dict,),
    "tools": (list,),
    "tool_choice": (str, dict),
    "max_tokens": (int,),
    "max_completion_tokens": (int,),
    "temperature": (int, float),
    "top_p": (int, float),
    "n": (int,),
}


class BadRequest(Exception):
    """The client's request cannot be served; ``error`` is the response to send."""

    def __init__(self, error: WireError) -> None:
        self.error = error
        super().__init__(error.status)


@dataclass(frozen=True, slots=True)
class RequestHeaders:
    """What the proxy reads from the client's headers, parsed once."""

    request_id: str
    trace_id: str | None
    mode: Mode
    deadline_ms: float | None
    forwarded: tuple[tuple[str, str], ...]
    content_length: int | None


#: Request ids are a random per-process prefix and a counter: unique, cheap, no syscall.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """A fresh request id (32 hex characters), unique across processes and restarts."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def trace_id_from(traceparent: str) -> str | None:
    """The trace id of a W3C ``traceparent`` header, or None if it is malformed."""
    parts = traceparent.strip().split("-")
    if len(parts) < 4:
        return None
    trace = parts[1].lower()
    if len(trace) != 32 or not set(trace) <= _HEX or trace == "0" * 32:
        return None
    return trace


def _bad(message: str, *, param: str | None = None, code: str = "invalid_value") -> BadRequest:
    return BadRequest(openai_error(400, message, code=code, param=param))


def parse_headers(raw: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
    """Read the request id, trace id, mode and deadline headers; raise ``BadRequest`` if invalid."""
    request_id = trace_id = None
    content_length: int | None = None
    mode: Mode = "interactive"
    deadline_ms: float | None = None
    forwarded: list[tuple[str, str]] = []
    for name, value in raw:
        if name == b"x-request-id":
            request_id = value.decode("latin-1")[:128]
        elif name == b"content-length":
            content_length = int(value) if value.isdigit() else None
        elif name == MODE_HEADER:
            found = _MODES.get(value.strip().lower())
            if found is None:
                raise _bad(
                    f"header x-openclaw-failover-mode: found {value.decode('latin-1')!r}; "
                    "expected 'interactive' or 'batch'",
                    param="x-openclaw-failover-mode",
                )
            mode = found
        elif name == DEADLINE_HEADER:
            deadline_ms = _deadline_ms(value)
        elif name in _FORWARDED and _PRINTABLE.fullmatch(value):
            text = value.decode("ascii")
            if name == b"traceparent":
                trace_id = trace_id_from(text)
                if trace_id is None:
                    continue  # malformed: neither a trace id here nor a header upstream
            forwarded.append((name.decode(), text))
    return RequestHeaders(
        request_id or new_request_id(),
        trace_id,
        mode,
        deadline_ms,
        tuple(forwarded),
        content_length,
    )


def request_id_in(raw: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``x-request-id`` (or ""), read alone: for the reply to a request whose
    other headers did not parse, which echoes the id like every other reply."""
    for name, value in raw:
        if name == b"x-request-id":
            return value.decode("latin-1")[:128]
    return ""


def _deadline_ms(value: bytes) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < float("inf"):
        raise _bad(
            f"header x-openclaw-failover-deadline-ms: found {value.decode('latin-1')!r}; "
            "expected a positive number of milliseconds",
            param="x-openclaw-failover-deadline-ms",
        )
    return number


def parse_body(raw: bytes, headers: Iterable[tuple[bytes, bytes]] = ()) -> dict[str, Any]:
    """Parse and type-check the chat-completions body; raise ``BadRequest`` naming the field
    (a 415 naming ``Content-Encoding`` for a compressed body, which is never decoded here)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise encoded_body(headers) or _bad(
            f"the request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise encoded_body(headers) or _bad(
            f"the request body: found a JSON {type(body).__name__}; expected an object"
        )
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad(
            f"field 'model': found {_shown(model)}; expected a route name such as 'auto'",
            param="model",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad(
            f"field 'messages': found {_shown(messages)}; expected a non-empty array",
            param="messages",
        )
    for key, types in _TYPES.items():
        value = body.get(key)
        if value is not None and (not isinstance(value, types) or _is_bool_as_number(value, types)):
            wanted = " or ".join(_JSON_NAMES[t] for t in types)
            raise _bad(f"field '{key}': found {_shown(value)}; expected {wanted}", param=key)
    return body


def encoded_body(headers: Iterable[tuple[bytes, bytes]]) -> BadRequest | None:
    """The 415 for a body sent with a ``Content-Encoding`` (gzip, br, ...), None without one.

    Asked only once the body failed to parse: compressed bytes are never JSON, and a body
    that parsed is passed on as it is."""
    for name, value in headers:
        if name == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
            found = value.decode("latin-1")[:80]
            return BadRequest(
                openai_error(
                    415,
                    f"header content-encoding: found {found!r}; expected none: the failover "
                    "proxy does not decode compressed request bodies, send the JSON "
                    "uncompressed",
                    code="unsupported_content_encoding",
                    param="content-encoding",
                )
            )
    return None


_JSON_NAMES: dict[type, str] = {
    bool: "a boolean",
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
}


def _is_bool_as_number(value: object, types: tuple[type, ...]) -> bool:
    return isinstance(value, bool) and bool not in types


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict | list):
        return _JSON_NAMES[type(value)]
    return f"{_JSON_NAMES.get(type(value), type(value).__name__)} {value!r}"[:80]


def route_of(model: str, table: RouteTable) -> str:
    """The route a ``model`` field names: ``auto``, a named route, or ``failover/<route>``."""
    name = model.removeprefix("failover/")
    if name in table.routes:
        return name
    raise BadRequest(route_missing(model, table))


def route_missing(model: str, table: RouteTable) -> WireError:
    """The 404 for a ``model`` that names no route (OpenAI's own ``model_not_found`` shape)."""
    known = ", ".join(sorted(table.routes)) or "none"
    return openai_error(
        404,
        f"field 'model': found {model!r}; expected one of the routes: {known}",
        code="model_not_found",
        param="model",
    )


def chat_request(
    body: dict[str, Any],
    headers: RequestHeaders,
    *,
    route: str,
    table: RouteTable,
) -> ChatRequest:
    """The engine's request: the body without ``model``, budgets from the headers (capped)."""
    body.pop("model", None)
    deadline_s = None
    if headers.deadline_ms is not None:
        deadline_s = min(
            headers.deadline_ms / 1000.0, table.settings.deadlines.max_request_deadline_s
        )
    return ChatRequest(
        body=body,
        route=route,
        stream=body.get("stream") is True,
        mode=headers.mode,
        first_token_deadline_s=deadline_s,
        request_id=headers.request_id,
        trace_id=headers.trace_id,
        upstream_headers=dict(headers.forwarded),
    )
