"""The demo's route table: two simulated cloud providers and a local tier, timings scaled down.

Built directly from the domain values (no file, no keys from anywhere): the demo keys are
placeholders the simulated providers accept, and they never leave loopback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ._model import (
    DEFAULT_COOLDOWNS,
    AuditSettings,
    Candidate,
    CooldownRule,
    Deadlines,
    FailureReason,
    Profile,
    Provider,
    Retries,
    Route,
    RouteTable,
    Secret,
    Settings,
    StateSettings,
    Tier,
)

__all__ = ["LocalTier", "demo_table"]

_SALT = b"openclaw-failover-demo"


@dataclass(frozen=True, slots=True)
class LocalTier:
    """Where the demo's local tier answers, which model, and whether it is the real one."""

    base_url: str
    model: str
    kind: str


def _profile(provider: str, label: str) -> Profile:
    secret = Secret(f"demo-{provider}-{label}")
    return Profile(
        id=f"{provider}:{label}",
        provider=provider,
        secret=secret,
        source="demo",
        fingerprint=secret.fingerprint(_SALT),
    )


def _provider(provider_id: str, base_url: str, labels: tuple[str, ...]) -> Provider:
    profiles = tuple(_profile(provider_id, label) for label in labels)
    return Provider(
        id=provider_id,
        api="openai-completions",
        base_url=base_url,
        profiles=profiles,
        explicit_order=True,
    )


def _cooldowns(duration_s: float) -> MappingProxyType[FailureReason, CooldownRule]:
    """The default table with short windows (a minute-long story needs second-long cooldowns)."""
    base = max(0.5, duration_s / 40.0)
    rules = dict(DEFAULT_COOLDOWNS)
    rules[FailureReason.RATE_LIMIT] = CooldownRule(base_s=base, cap_s=base * 4, scope="key_model")
    for reason in ("server_error", "overloaded", "timeout", "empty_response", "unknown"):
        rules[FailureReason(reason)] = CooldownRule(base_s=base / 2, cap_s=base * 2, scope="model")
    return MappingProxyType(rules)


def demo_table(
    *, cloud_a: str, cloud_b: str, local: LocalTier, audit_path: Path, duration_s: float
) -> RouteTable:
    """The demo's table: cloud-a (two keys) -> cloud-b -> the local tier."""
    first_token_s = max(0.3, min(1.5, duration_s / 20.0))
    settings = Settings(
        deadlines=Deadlines(
            interactive_first_token_s=first_token_s,
            batch_first_token_s=first_token_s,
            local_first_token_s=20.0,
            stream_idle_s=5.0,
            intent_budget_s=15.0,
            max_request_deadline_s=30.0,
        ),
        retries=Retries(max_attempts_per_key=1, max_attempts_per_intent=6, inline_wait_max_s=0.0),
        cooldowns=_cooldowns(duration_s),
        state=StateSettings(backend="memory"),
        audit=AuditSettings(path=str(audit_path)),
    )
    providers = {
        "cloud-a": _provider("cloud-a", cloud_a, ("main", "spare")),
        "cloud-b": _provider("cloud-b", cloud_b, ("main",)),
        "local": _provider("local", local.base_url, ("local",)),
    }
    chain = (
        Candidate("cloud-a", "big-1"),
        Candidate("cloud-b", "mid-1"),
        Candidate("local", local.model, Tier.LOCAL),
    )
    return RouteTable(
        routes=MappingProxyType({"auto": Route("auto", chain)}),
        providers=MappingProxyType(providers),
        settings=settings,
        version="demo-1",
        fingerprint_salt=_SALT,
    )
