"""The wire-format seam of the fake providers: a Dialect turns answers and errors into bytes.

To add a wire format (Anthropic Messages, Ollama native), write one class with these members
and pass an instance to :class:`~openclaw_failover.testing._fake_server.FakeProviderServer`;
the server, the fault engine and the request log are shared. A dialect is pure: it renders,
it never touches a socket or a clock.

Stream layout: ``preamble`` frames carry no token (OpenAI's empty role chunk, Anthropic's
``message_start``); ``content`` frames each carry a text piece or part of a tool call (the
unit that faults' ``after`` counts); ``closing`` frames finish the message (finish reason,
usage); ``done`` is the end marker that ``Ok(done=False)`` leaves out (may be empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._faults import Answer

__all__ = ["Dialect", "StreamPlan"]


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """The frames of one streamed answer, in the order they go out (each frame is whole)."""

    preamble: tuple[bytes, ...]
    content: tuple[bytes, ...]
    closing: tuple[bytes, ...]
    done: bytes = b""


class Dialect(Protocol):
    """How one provider API looks on the wire."""

    #: Shown in logs and the subprocess CLI (``openai``, ``anthropic``, ``ollama``).
    name: str
    #: Appended to ``http://127.0.0.1:PORT`` to form the server's ``url`` (e.g. ``/v1``).
    base_path: str
    #: Paths answered with a scripted fault (POST).
    chat_paths: tuple[str, ...]
    #: Paths answered with :meth:`model_list` (GET).
    models_paths: tuple[str, ...]
    #: ``Content-Type`` of a streamed reply (SSE or NDJSON).
    stream_content_type: str

    def request_key(self, headers: Mapping[str, str]) -> str | None:
        """The API key a request carries (headers are lower-case), or None."""
        ...

    def request_model(self, body: Any) -> str:
        """The model the parsed request body names ("" if none)."""
        ...

    def wants_stream(self, body: Any) -> bool:
        """Whether the parsed request body asks for a streamed reply."""
        ...

    def stream_plan(self, answer: Answer, *, model: str, request: Any) -> StreamPlan:
        """The frames of ``answer`` streamed for ``model`` (``request`` is the parsed body)."""
        ...

    def whole_reply(self, answer: Answer, *, model: str, request: Any) -> dict[str, Any]:
        """The non-streamed JSON reply for ``answer``."""
        ...

    def error_body(
        self, status: int, *, model: str, message: str | None, code: str | None
    ) -> dict[str, Any]:
        """The JSON error body this provider sends with ``status``."""
        ...

    def malformed_frame(self) -> bytes:
        """One unparseable stream event (cut JSON), framed like a real one."""
        ...

    def stream_error_frame(self, status: int) -> bytes:
        """The in-stream error event for ``status``."""
        ...

    def model_list(self, models: Sequence[str]) -> dict[str, Any]:
        """The reply of the model-list endpoint."""
        ...
