"""The package's exception tree: one base, a branch per kind of stop.

Upstream failures inside the engine are values (``AttemptRecord``); an exception means "stop".
Fields are read-only and messages are built from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class FailoverError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One configuration finding: rule id, JSON path, what was found, what was expected, fix."""

    rule: str
    path: str
    found: str
    expected: str
    fix: str = ""
    severity: str = "error"  # "error" | "warning"

    @property
    def message(self) -> str:
        """A one-line human message built from the fields."""
        text = f"{self.path}: found {self.found}; expected {self.expected}"
        return f"{text}. Fix: {self.fix}" if self.fix else text


class ConfigError(FailoverError):
    """The configuration cannot be used; ``problems`` lists every finding at once."""

    def __init__(self, problems: tuple[Problem, ...], *, config_path: str | None = None) -> None:
        self.problems = problems
        self.config_path = config_path
        lines = [f"[{p.rule}] {p.message}" for p in problems if p.severity == "error"]
        where = f" in {config_path}" if config_path else ""
        super().__init__(f"invalid configuration{where}:\n" + "\n".join(lines))


class StateStoreError(FailoverError):
    """The state store cannot be read or written (and ``onUnavailable`` says to stop)."""


class AttemptRecord(NamedTuple):
    """One upstream attempt as the hard stop and the audit report it. Never holds a key.

    A ``NamedTuple`` (immutable): one is built for every attempt and every key a walk passes
    over, and a frozen dataclass costs about three times as much to build.
    """

    provider: str
    model: str
    profile: str
    tier: str
    reason: str | None
    status: int | None
    latency_ms: float
    detail: str = ""
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return {
            "provider": self.provider,
            "model": self.model,
            "profile": self.profile,
            "tier": self.tier,
            "reason": self.reason,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "detail": self.detail,
            "skipped": self.skipped,
        }


class UpstreamError(FailoverError):
    """The request itself cannot be served by any candidate; carries what was tried."""

    outcome = "rejected"

    def __init__(self, attempts: tuple[AttemptRecord, ...], *, request_id: str = "") -> None:
        self.attempts = attempts
        self.request_id = request_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        tried = "; ".join(f"{a.provider}/{a.model}: {a.reason}" for a in self.attempts)
        return f"{type(self).__name__}: {tried or 'no attempt'}"


class RequestRejected(UpstreamError):
    """The upstream refused the request itself (format, content policy, context overflow);
    ``upstream_message`` is what it said was wrong, for the caller (never audited)."""

    outcome = "rejected"

    def __init__(
        self,
        attempts: tuple[AttemptRecord, ...],
        *,
        request_id: str = "",
        upstream_message: str = "",
    ) -> None:
        self.upstream_message = upstream_message
        super().__init__(attempts, request_id=request_id)


class RouteDriftError(UpstreamError):
    """A chain entry names a model the provider does not have (404): the route table drifted."""

    outcome = "drift"


class AllCandidatesFailed(UpstreamError):
    """The hard stop: every candidate failed or is cooling. ``soonest_retry_at`` is epoch s."""

    outcome = "hard_stop"

    def __init__(
        self,
        attempts: tuple[AttemptRecord, ...],
        *,
        soonest_retry_at: float | None,
        request_id: str = "",
    ) -> None:
        self.soonest_retry_at = soonest_retry_at
        super().__init__(attempts, request_id=request_id)


class StreamInterrupted(UpstreamError):
    """A stream failed after its first byte went to the caller; it must end with an error."""

    outcome = "stream_error"
