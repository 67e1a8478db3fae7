"""The plugin settings block as ``Settings``, every default filled in and paths resolved.

The schema has already checked the types; these readers still fall back to the default on a
wrong type, so a file with schema errors can be checked by the other rules too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from .._model import (
    DEFAULT_COOLDOWNS,
    AlertSettings,
    AuditSettings,
    CooldownRule,
    Deadlines,
    FailureReason,
    ProxySettings,
    Retries,
    Secret,
    Settings,
    SidecarSettings,
    StateSettings,
    ToolSettings,
)

T = TypeVar("T")


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _num(block: Mapping[str, Any], key: str, default: float) -> float:
    """The number at ``key``; NaN or Infinity (an error already) reads as the default."""
    value = block.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def _int(block: Mapping[str, Any], key: str, default: int) -> int:
    value = block.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _str(block: Mapping[str, Any], key: str, default: str) -> str:
    value = block.get(key)
    return value if isinstance(value, str) and value else default


def _choice(block: Mapping[str, Any], key: str, default: T, allowed: tuple[T, ...]) -> T:
    value = block.get(key)
    for option in allowed:
        if value == option:
            return option
    return default


def _strs(block: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = block.get(key)
    if not isinstance(value, list):
        return default
    return tuple(v for v in value if isinstance(v, str))


def _secret(block: Mapping[str, Any], key: str) -> Secret | None:
    value = block.get(key)
    if not isinstance(value, str) or not value or "${" in value:
        return None
    return Secret(value)


def _deadlines(block: Mapping[str, Any]) -> Deadlines:
    d = Deadlines()
    return Deadlines(
        interactive_first_token_s=_num(
            block, "interactiveFirstTokenS", d.interactive_first_token_s
        ),
        batch_first_token_s=_num(block, "batchFirstTokenS", d.batch_first_token_s),
        local_first_token_s=_num(block, "localFirstTokenS", d.local_first_token_s),
        stream_idle_s=_num(block, "streamIdleS", d.stream_idle_s),
        intent_budget_s=_num(block, "intentBudgetS", d.intent_budget_s),
        max_request_deadline_s=_num(block, "maxRequestDeadlineS", d.max_request_deadline_s),
    )


def _retries(block: Mapping[str, Any]) -> Retries:
    r = Retries()
    return Retries(
        max_attempts_per_key=_int(block, "maxAttemptsPerKey", r.max_attempts_per_key),
        max_attempts_per_intent=_int(block, "maxAttemptsPerIntent", r.max_attempts_per_intent),
        inline_wait_max_s=_num(block, "inlineWaitMaxS", r.inline_wait_max_s),
    )


def _cooldowns(block: Mapping[str, Any]) -> Mapping[FailureReason, CooldownRule]:
    rules = dict(DEFAULT_COOLDOWNS)
    for name, spec in block.items():
        if name not in FailureReason.__members__.values() or not isinstance(spec, dict):
            continue
        reason = FailureReason(name)
        base = rules[reason]
        rules[reason] = CooldownRule(
            base_s=_num(spec, "baseS", base.base_s),
            cap_s=_num(spec, "capS", base.cap_s),
            scope=_choice(spec, "scope", base.scope, ("key", "key_model", "model", "none")),
            factor=_num(spec, "factor", base.factor),
            disable=bool(spec.get("disable", base.disable)),
            honor_retry_after=bool(spec.get("honorRetryAfter", base.honor_retry_after)),
            max_retry_after_s=_num(spec, "maxRetryAfterS", base.max_retry_after_s),
        )
    return MappingProxyType(rules)


def _tools(block: Mapping[str, Any]) -> ToolSettings:
    t = ToolSettings()
    return ToolSettings(
        high_risk=_strs(block, "highRisk", t.high_risk),
        high_risk_deferred=_strs(block, "highRiskDeferred", t.high_risk_deferred),
        also_high_risk=_strs(block, "alsoHighRisk", ()),
        allow_on_local=_strs(block, "allowOnLocal", ()),
    )


def _state(block: Mapping[str, Any], state_dir: Path) -> StateSettings:
    directory = block.get("directory")
    folder = Path(directory).expanduser() if isinstance(directory, str) and directory else state_dir
    return StateSettings(
        backend=_choice(block, "backend", "file", ("memory", "file", "redis")),
        directory=str(folder),
        url=_secret(block, "url"),
        namespace=_str(block, "namespace", "openclaw-failover"),
        on_unavailable=_choice(block, "onUnavailable", "local", ("local", "closed")),
    )


def _audit(block: Mapping[str, Any], state_dir: Path) -> AuditSettings:
    path = block.get("path")
    file = Path(path).expanduser() if isinstance(path, str) and path else state_dir / "audit.jsonl"
    a = AuditSettings()
    return AuditSettings(
        path=str(file),
        max_bytes=_int(block, "maxBytes", a.max_bytes),
        keep=_int(block, "keep", a.keep),
    )


def _proxy(block: Mapping[str, Any]) -> ProxySettings:
    p = ProxySettings()
    return ProxySettings(
        host=_str(block, "host", p.host),
        port=_int(block, "port", p.port),
        token=_secret(block, "token"),
        max_body_bytes=_int(block, "maxBodyBytes", p.max_body_bytes),
    )


def _sidecar(block: Mapping[str, Any]) -> SidecarSettings:
    s = SidecarSettings()
    return SidecarSettings(
        command=_strs(block, "command", s.command) or s.command,
        timeout_ms=_int(block, "timeoutMs", s.timeout_ms),
    )


def _alerts(block: Mapping[str, Any]) -> AlertSettings:
    a = AlertSettings()
    return AlertSettings(
        hard_stop_share=_num(block, "hardStopShare", a.hard_stop_share),
        local_share=_num(block, "localShare", a.local_share),
    )


def build_settings(block: Mapping[str, Any], *, state_dir: Path) -> Settings:
    """``Settings`` from the (substituted) plugin settings block."""
    state = _state(_obj(block.get("state")), state_dir)
    return Settings(
        mode=_choice(block, "mode", "provider", ("provider", "plugin")),
        deadlines=_deadlines(_obj(block.get("deadlines"))),
        retries=_retries(_obj(block.get("retries"))),
        cooldowns=_cooldowns(_obj(block.get("cooldowns"))),
        tools=_tools(_obj(block.get("tools"))),
        state=state,
        audit=_audit(_obj(block.get("audit")), Path(state.directory)),
        proxy=_proxy(_obj(block.get("proxy"))),
        sidecar=_sidecar(_obj(block.get("sidecar"))),
        alerts=_alerts(_obj(block.get("alerts"))),
        banned_models=_strs(block, "bannedModels", ()),
        probe_interval_s=_num(block, "probeIntervalS", 0.0),
        allow_remote_local=block.get("allowRemoteLocal") is True,
        failure_window_s=_num(block, "failureWindowS", 86400.0),
    )
