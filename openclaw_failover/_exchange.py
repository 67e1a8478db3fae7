"""What callers hand the engine (``ChatRequest``) and what they get back (``Answer``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Protocol

from ._errors import AttemptRecord

Mode = Literal["interactive", "batch"]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One user intent in OpenAI chat-completions shape.

    ``body`` is the client's JSON body without ``model`` (``route`` names the chain instead).
    ``first_token_deadline_s`` overrides the tier budget for this request (already capped by
    the caller at ``deadlines.maxRequestDeadlineS``). ``stream`` is what the *client* wants;
    the engine streams from upstream either way.
    """

    body: Mapping[str, Any]
    route: str = "auto"
    stream: bool = False
    mode: Mode = "interactive"
    first_token_deadline_s: float | None = None
    request_id: str = ""
    trace_id: str | None = None
    session_id: str | None = None
    upstream_headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class AnswerMeta(NamedTuple):
    """Who answered: set once the first token arrived. Profile id only, never a key.

    A ``NamedTuple`` (immutable) rather than a frozen dataclass because one is built per
    answer on the request path, where setting ten fields one ``object.__setattr__`` at a time
    costs about three times as much (``benchmarks/engine_overhead.py``).
    """

    provider: str
    model: str
    profile: str
    tier: str
    attempts: int
    route: str
    route_version: str
    downgraded: bool
    tools_blocked: tuple[str, ...] = ()
    attempt_log: tuple[AttemptRecord, ...] = ()

    def headers(self) -> dict[str, str]:
        """The ``x-openclaw-failover-*`` response headers."""
        return {
            "x-openclaw-failover-provider": self.provider,
            "x-openclaw-failover-model": self.model,
            "x-openclaw-failover-profile": self.profile,
            "x-openclaw-failover-tier": self.tier,
            "x-openclaw-failover-attempts": str(self.attempts),
            "x-openclaw-failover-route-version": self.route_version,
            "x-openclaw-failover-downgraded": "true" if self.downgraded else "false",
            "x-openclaw-failover-tools-blocked": ",".join(self.tools_blocked),
        }


class Answer(Protocol):
    """A started answer. Iterate it for OpenAI ``chat.completion.chunk`` dicts (the ones that
    arrived before the first token included). If the upstream fails after the first chunk was
    yielded, iteration raises :class:`StreamInterrupted`; the caller ends its stream with an
    explicit error event. ``aclose`` releases the upstream connection (always call it)."""

    @property
    def meta(self) -> AnswerMeta: ...

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def aclose(self) -> None: ...
