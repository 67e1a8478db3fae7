"""The normalised route table: immutable domain values every part of the package reads."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

#: Header names whose values are credentials (``Authorization``, ``X-Api-Key``, ``api-key``,
#: ``x-goog-api-key``, ``Cookie``...).
_CREDENTIAL_HEADER = re.compile(r"auth|key|token|secret|password|cookie|signature|credential", re.I)


#: Below this length a header value is not taken for a credential (as ``known_secrets``).
_MIN_CREDENTIAL = 6


def is_credential_header(name: str) -> bool:
    """Whether a provider header by this name carries a credential."""
    return bool(_CREDENTIAL_HEADER.search(name))


def header_credentials(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The credentials in a provider's headers: each credential header's value, and its token
    without the scheme word (``Bearer``, ``Basic``...), as an upstream may echo either."""
    found: list[str] = []
    for name, value in headers.items():
        if value and is_credential_header(name):
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token.strip() and scheme.isalpha():
                found.append(token.strip())
    # a short value ("1", "true") is no credential, and masking it would mangle any text
    return tuple(v for v in found if len(v) >= _MIN_CREDENTIAL)


class FailureReason(StrEnum):
    """Why an attempt failed; the words are OpenClaw's own."""

    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    BILLING = "billing"
    AUTH = "auth"
    AUTH_PERMANENT = "auth_permanent"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    EMPTY_RESPONSE = "empty_response"
    MODEL_NOT_FOUND = "model_not_found"
    FORMAT = "format"
    CONTEXT_OVERFLOW = "context_overflow"
    UNKNOWN = "unknown"


class Tier(StrEnum):
    """Where a candidate runs: a cloud provider or the local last-resort tier."""

    CLOUD = "cloud"
    LOCAL = "local"


CooldownScope = Literal["key", "key_model", "model", "none"]


@dataclass(frozen=True, slots=True)
class CooldownRule:
    """How long one reason cools its scope: ``base_s * factor**(n-1)`` capped at ``cap_s``.

    ``disable`` marks the long windows (billing, revoked keys) that status shows as disabled.
    ``honor_retry_after`` lets a longer provider Retry-After win, capped at ``max_retry_after_s``.
    """

    base_s: float
    cap_s: float
    scope: CooldownScope
    factor: float = 2.0
    disable: bool = False
    honor_retry_after: bool = False
    max_retry_after_s: float = 3600.0


def _rules(**rules: CooldownRule) -> Mapping[FailureReason, CooldownRule]:
    return MappingProxyType({FailureReason(k): v for k, v in rules.items()})


_TRANSIENT = CooldownRule(base_s=5, cap_s=30, scope="model")
_NONE = CooldownRule(base_s=0, cap_s=0, scope="none")

#: The design's table ("Per reason, what moves"), as data. Overrides come from ``cooldowns``.
DEFAULT_COOLDOWNS: Mapping[FailureReason, CooldownRule] = _rules(
    rate_limit=CooldownRule(base_s=30, cap_s=600, scope="key_model", honor_retry_after=True),
    auth=CooldownRule(base_s=300, cap_s=3600, scope="key"),
    auth_permanent=CooldownRule(base_s=3600, cap_s=86400, scope="key", disable=True),
    billing=CooldownRule(base_s=600, cap_s=86400, scope="key", disable=True),
    server_error=_TRANSIENT,
    overloaded=_TRANSIENT,
    timeout=_TRANSIENT,
    empty_response=_TRANSIENT,
    unknown=_TRANSIENT,
    model_not_found=_NONE,
    context_overflow=_NONE,
    format=_NONE,
)

#: Tools switched off while the local tier answers (design: "High-risk tools").
DEFAULT_HIGH_RISK_TOOLS: tuple[str, ...] = (
    "exec",
    "bash",
    "process",
    "code_execution",
    "write",
    "edit",
    "apply_patch",
    "browser",
    "computer",
    "nodes",
    "gateway",
    "plugins",
    "openclaw",
    "sessions_spawn",
    "automations",
    "cron",
    "message",
    "secrets",
)
#: Deferred tools reachable only through ``tool_call {id: ...}`` that are high-risk as well.
DEFAULT_HIGH_RISK_DEFERRED: tuple[str, ...] = ("terminal", "file_write")


class Secret:
    """A secret value that never shows itself in repr, str or format."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the raw value; call only where it goes onto the wire."""
        return self._value

    def fingerprint(self, salt: bytes) -> str:
        """Return a short salted, non-reversible fingerprint that identifies this value."""
        return hmac.new(salt, self._value.encode(), hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Profile:
    """One key of a provider. ``id`` is ``provider:<label>`` or ``provider:<index>``.

    ``source`` says where the key came from (``config``, ``env``, ``.env``, ``env.vars``,
    ``openclaw-store``) and, with ``source_name``, which variable or path; never the value.
    ``secret`` is None when the key could not be resolved.
    """

    id: str
    provider: str
    secret: Secret | None
    source: str
    source_name: str = ""
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What is known of one upstream model: its context window and tool support, if declared."""

    id: str
    context_window: int | None = None
    supports_tools: bool | None = None
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """One upstream provider with its wire API, base URL and keys in rotation order."""

    id: str
    api: str
    base_url: str
    profiles: tuple[Profile, ...] = ()
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    timeout_s: float | None = None
    max_concurrent: int | None = None
    models: Mapping[str, ModelSpec] = field(default_factory=lambda: MappingProxyType({}))
    explicit_order: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """One provider/model pair in a chain."""

    provider: str
    model: str
    tier: Tier = Tier.CLOUD

    @property
    def ref(self) -> str:
        """The ``provider/model`` reference, as OpenClaw writes it."""
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True, slots=True)
class Route:
    """A named chain: primary first, then fallbacks, then the local tier."""

    name: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Time budgets in seconds (design: "Deadlines per tier")."""

    interactive_first_token_s: float = 45.0
    batch_first_token_s: float = 90.0
    local_first_token_s: float = 120.0
    stream_idle_s: float = 15.0
    intent_budget_s: float = 150.0
    max_request_deadline_s: float = 300.0

    def first_token_s(self, tier: Tier, *, mode: str, explicit_s: float | None) -> float:
        """An attempt's own first-token deadline: the request's explicit one (capped), else
        its tier's, and for a cloud tier its mode's."""
        if explicit_s is not None:
            return min(explicit_s, self.max_request_deadline_s)
        if tier is Tier.LOCAL:
            return self.local_first_token_s
        return self.batch_first_token_s if mode == "batch" else self.interactive_first_token_s


@dataclass(frozen=True, slots=True)
class Retries:
    """Attempt caps: per key and candidate, per user intent, and the one inline wait."""

    max_attempts_per_key: int = 2
    max_attempts_per_intent: int = 8
    inline_wait_max_s: float = 2.0


@dataclass(frozen=True, slots=True)
class ToolSettings:
    """The high-risk tool list and the operator's additions and exceptions."""

    high_risk: tuple[str, ...] = DEFAULT_HIGH_RISK_TOOLS
    high_risk_deferred: tuple[str, ...] = DEFAULT_HIGH_RISK_DEFERRED
    also_high_risk: tuple[str, ...] = ()
    allow_on_local: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StateSettings:
    """Where shared state lives. ``directory`` is resolved (``$OPENCLAW_STATE_DIR/failover``)."""

    backend: Literal["memory", "file", "redis"] = "file"
    directory: str = ""
    url: Secret | None = None
    namespace: str = "openclaw-failover"
    on_unavailable: Literal["local", "closed"] = "local"


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """The JSONL audit file and its size-based rotation."""

    path: str = ""
    max_bytes: int = 104_857_600
    keep: int = 5


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """The failover proxy's listener."""

    host: str = "127.0.0.1"
    port: int = 8787
    token: Secret | None = None
    max_body_bytes: int = 8_388_608


@dataclass(frozen=True, slots=True)
class SidecarSettings:
    """How the JS bridge starts and waits for the Python sidecar."""

    command: tuple[str, ...] = ("openclaw-failover", "sidecar")
    timeout_ms: int = 2000


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Report alert thresholds, as shares between 0 and 1."""

    hard_stop_share: float = 0.15
    local_share: float = 0.35


@dataclass(frozen=True, slots=True)
class Settings:
    """Every plugin setting with its default filled in."""

    mode: Literal["provider", "plugin"] = "provider"
    deadlines: Deadlines = Deadlines()
    retries: Retries = Retries()
    cooldowns: Mapping[FailureReason, CooldownRule] = field(
        default_factory=lambda: DEFAULT_COOLDOWNS
    )
    tools: ToolSettings = ToolSettings()
    state: StateSettings = StateSettings()
    audit: AuditSettings = AuditSettings()
    proxy: ProxySettings = ProxySettings()
    sidecar: SidecarSettings = SidecarSettings()
    alerts: AlertSettings = AlertSettings()
    banned_models: tuple[str, ...] = ()
    probe_interval_s: float = 0.0
    allow_remote_local: bool = False
    failure_window_s: float = 86400.0


@dataclass(frozen=True, slots=True)
class RouteTable:
    """The whole normalised configuration: routes, providers, settings and the table's version."""

    routes: Mapping[str, Route]
    providers: Mapping[str, Provider]
    settings: Settings = Settings()
    version: str = ""
    config_path: str | None = None
    kind: Literal["openclaw", "standalone"] = "standalone"
    fingerprint_salt: bytes = b""

    def route(self, name: str) -> Route:
        """Return the named route; ``auto`` is the default chain. Raises KeyError if unknown."""
        return self.routes[name]
