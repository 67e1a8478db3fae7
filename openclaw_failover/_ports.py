"""The seams the engine is built on: Clock, StateStore, AuditSink and Transport, plus their values.

Everything that does I/O or reads time comes in through one of these Protocols, so tests pass
fakes (``openclaw_failover.testing``) and the core stays pure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ._model import Candidate, Profile, Provider


class Timer(Protocol):
    """A pending :meth:`Clock.call_later` callback."""

    def cancel(self) -> None:
        """Make sure the callback does not run (idempotent; harmless after it ran)."""
        ...


class Clock(Protocol):
    """Time as the engine sees it. ``now`` is epoch seconds (persisted, shared);
    ``monotonic`` is for deadlines (never persisted); ``sleep`` is the only way to wait, and
    ``call_later`` the only way to time out (first-token and stream-idle deadlines): it runs
    ``callback`` on the calling task's event loop once ``monotonic`` has moved ``delay_s``."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> Timer: ...


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class Health:
    """The stored health of one state key (a key, a key+model, or a model).

    ``*_until`` / ``*_at`` are epoch seconds. ``cooldown_until`` only moves forward.
    ``failure_counts`` maps a reason to consecutive failures within the failure window.
    ``probe_owner`` / ``probe_until`` hold the half-open probe claim (a lease).
    """

    cooldown_until: float = 0.0
    cooldown_reason: str | None = None
    disabled: bool = False
    failure_counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    last_failure_at: float = 0.0
    last_used_at: float = 0.0
    last_good_at: float = 0.0
    probe_owner: str | None = None
    probe_until: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the store's persisted shape)."""
        return {
            "cooldown_until": self.cooldown_until,
            "cooldown_reason": self.cooldown_reason,
            "disabled": self.disabled,
            "failure_counts": dict(self.failure_counts),
            "last_failure_at": self.last_failure_at,
            "last_used_at": self.last_used_at,
            "last_good_at": self.last_good_at,
            "probe_owner": self.probe_owner,
            "probe_until": self.probe_until,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Health:
        """Rebuild from :meth:`to_json` output; unknown fields are ignored."""
        return cls(
            cooldown_until=float(data.get("cooldown_until", 0.0)),
            cooldown_reason=data.get("cooldown_reason"),
            disabled=bool(data.get("disabled", False)),
            failure_counts=MappingProxyType(dict(data.get("failure_counts", {}))),
            last_failure_at=float(data.get("last_failure_at", 0.0)),
            last_used_at=float(data.get("last_used_at", 0.0)),
            last_good_at=float(data.get("last_good_at", 0.0)),
            probe_owner=data.get("probe_owner"),
            probe_until=float(data.get("probe_until", 0.0)),
        )


EMPTY_HEALTH = Health()

#: An atomic update: old health (None when absent) -> new health (None deletes the key).
HealthUpdate = Callable[[Health | None], Health | None]


@runtime_checkable
class StateStore(Protocol):
    """Shared, crash-safe health state. Implementations: memory, file, redis.

    ``update`` is the only write: it applies ``fn`` atomically (no lost update across
    processes) and returns the stored result. Callers pass pure functions; the store may call
    ``fn`` more than once (optimistic retries), so ``fn`` must not have side effects.
    """

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]: ...

    async def update(self, key: str, fn: HealthUpdate) -> Health | None: ...

    async def items(self) -> Mapping[str, Health]: ...

    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------- audit


class AuditRecord(NamedTuple):
    """One audit line (``schemas/audit-record.schema.json``). Never a secret or prompt text.

    Immutable like the other values here, but a ``NamedTuple`` rather than a frozen
    dataclass: the engine builds at least two per request, and setting 24 fields one
    ``object.__setattr__`` at a time costs about four times as much as building one tuple
    (``benchmarks/engine_overhead.py``).
    """

    event: str
    ts: float
    request_id: str = ""
    trace_id: str | None = None
    session_id: str | None = None
    instance: str = ""
    route: str | None = None
    route_version: str = ""
    provider: str | None = None
    model: str | None = None
    profile: str | None = None
    tier: str | None = None
    attempt: int | None = None
    status: int | None = None
    reason: str | None = None
    outcome: str | None = None
    latency_ms: float | None = None
    ttfb_ms: float | None = None
    downgraded: bool | None = None
    tools_blocked: tuple[str, ...] = ()
    failure_kind: str | None = None
    config_path: str | None = None
    detail: str | None = None
    cooldown_until: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The line's JSON object (``v`` is the line-schema version); None fields are kept."""
        data: dict[str, Any] = {"v": 1}
        data.update(zip(self._fields, self, strict=True))
        data["tools_blocked"] = list(self.tools_blocked)
        return data


class AuditSink(Protocol):
    """Where audit records go. ``emit`` never blocks the request path."""

    def emit(self, record: AuditRecord) -> None: ...

    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------- transport


#: Failure kinds of attempts that never reached the upstream: the first-token deadline struck
#: while the call waited for a provider slot, or a key or the model cooled during that wait.
SLOT_WAIT_TIMEOUT = "SlotWaitTimeout"
SLOT_COOLED = "SlotCooled"
#: The failure kind of an attempt whose first-token deadline the request's ``intentBudgetS``
#: cut short, and which struck: the upstream had less than its own deadline, so nothing is
#: cooled, and the request stops there.
BUDGET_SPENT = "IntentBudgetSpent"


class SendGate(Protocol):
    """What a transport wrapper that queues calls (a provider's concurrency cap) tells the
    engine: ``waiting`` is True while the call waits for a slot, so a deadline that strikes
    there is not the upstream's fault; ``recheck`` is awaited after a wait, right before
    sending, and False means a key or the model cooled meanwhile (do not send)."""

    waiting: bool

    async def recheck(self) -> bool: ...


_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class UpstreamCall(NamedTuple):
    """One attempt's request, in OpenAI chat-completions shape, for one candidate and key.

    ``body`` has no ``model``: the adapter sets the provider-local model id. The engine always
    asks for a stream; the adapter turns whatever the wire gives into OpenAI chunks. A
    ``NamedTuple`` (immutable, one built per attempt) for the reason given at ``AuditRecord``.
    """

    provider: Provider
    candidate: Candidate
    profile: Profile | None
    body: Mapping[str, Any]
    headers: Mapping[str, str] = _NO_HEADERS
    gate: SendGate | None = None


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """A stream event that could not be parsed; skipped and audited, never fatal."""

    excerpt: str


class TransportFailure(Exception):
    """Raised by a transport for a failure below HTTP (connect, reset, protocol, read timeout).

    ``kind`` is the httpx exception class name (``ConnectError``, ``ReadError``,
    ``RemoteProtocolError``, ...), which ``classify`` maps to a reason.

    Not a frozen dataclass: Python sets ``__traceback__`` on an exception that passes through
    a ``@contextmanager``/``@asynccontextmanager`` (as ``Transport.send`` is), and a frozen
    dataclass refuses that assignment (TypeError/FrozenInstanceError instead of the failure).
    """

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind

    def __repr__(self) -> str:
        return f"TransportFailure(kind={self.kind!r}, detail={self.detail!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransportFailure):
            return NotImplemented
        return (self.kind, self.detail) == (other.kind, other.detail)

    def __hash__(self) -> int:
        return hash((self.kind, self.detail))


class UpstreamReply(Protocol):
    """An upstream response whose status and headers have arrived."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def error_excerpt(self, limit: int = 4096) -> str:
        """For a non-2xx reply: up to ``limit`` characters of the body (may hold no secret)."""
        ...

    def chunks(self) -> AsyncIterator[dict[str, Any] | MalformedEvent]:
        """For a 2xx reply: ``chat.completion.chunk``-shaped dicts until the stream ends.

        Raises :class:`TransportFailure` if the connection breaks mid-stream. A clean end
        without ``[DONE]`` simply ends the iteration.
        """
        ...


class Transport(Protocol):
    """One wire format (OpenAI-compatible, Anthropic Messages, Ollama native).

    ``send`` opens the request; entering the context returns once headers arrived, or raises
    :class:`TransportFailure`. Leaving it releases the connection.
    """

    def send(self, call: UpstreamCall) -> AbstractAsyncContextManager[UpstreamReply]: ...

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """The model ids the provider says it serves (``/v1/models``, ``/api/tags``)."""
        ...
