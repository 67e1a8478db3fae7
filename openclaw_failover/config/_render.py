"""A route table written back as a standalone failover document (for ``normalise`` round trips).

Keys are written as they were referenced (``${VAR}``, a profile id, a SecretRef); keys that
were inline, and the proxy token and state URL, are written as values. So the result may hold
secrets: it is for round trips in memory, never for output.
"""

from __future__ import annotations

from typing import Any

from .._model import CooldownRule, Profile, Provider, RouteTable, Settings, Tier


def _key(profile: Profile) -> Any:
    if profile.source in {"env", ".env", "env.vars"} and profile.source_name:
        return "${" + profile.source_name + "}"
    if profile.source == "secretref":
        source, _, name = profile.source_name.partition(":")
        return {"source": source, "provider": "default", "id": name}
    if profile.secret is not None:
        return profile.secret.reveal()
    return profile.source_name or profile.id


def _from_convention(p: Provider, x: Profile) -> bool:
    """A key found by OpenClaw's env naming rules: loading again finds it the same way."""
    return x.id == f"{p.id}:{x.source_name}" or x.id.startswith(f"{p.id}:{x.source_name}[")


def _auth(p: Provider) -> list[dict[str, Any]]:
    return [
        {"key": _key(x), "profile": x.id.split(":", 1)[1]}
        for x in p.profiles
        if x.id != f"{p.id}:apiKey" and not _from_convention(p, x)
    ]


def _provider(p: Provider) -> dict[str, Any]:
    out: dict[str, Any] = {"baseUrl": p.base_url, "api": p.api}
    if _auth(p):
        out["auth"] = _auth(p)
    if p.max_concurrent is not None:
        out["maxConcurrent"] = p.max_concurrent
    if p.headers:
        out["headers"] = dict(p.headers)
    models = [
        {k: v for k, v in (("id", m.id), ("contextWindow", m.context_window),
                            ("maxTokens", m.max_tokens), ("supportsTools", m.supports_tools))
         if v is not None}
        for m in p.models.values()
    ]  # fmt: skip
    if models:
        out["models"] = models
    return out


def _shared(p: Provider) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p.timeout_s is not None:
        out["timeoutSeconds"] = p.timeout_s
    for x in p.profiles:
        if x.id == f"{p.id}:apiKey":
            out["apiKey"] = _key(x)
    return out


def _cooldown(rule: CooldownRule) -> dict[str, Any]:
    return {
        "baseS": rule.base_s, "capS": rule.cap_s, "factor": rule.factor, "scope": rule.scope,
        "disable": rule.disable, "honorRetryAfter": rule.honor_retry_after,
        "maxRetryAfterS": rule.max_retry_after_s,
    }  # fmt: skip


def _settings(s: Settings, local: list[str]) -> dict[str, Any]:
    d, r, t = s.deadlines, s.retries, s.tools
    return {
        "mode": s.mode,
        "tiers": {"local": local},
        "deadlines": {
            "interactiveFirstTokenS": d.interactive_first_token_s,
            "batchFirstTokenS": d.batch_first_token_s,
            "localFirstTokenS": d.local_first_token_s,
            "streamIdleS": d.stream_idle_s,
            "intentBudgetS": d.intent_budget_s,
            "maxRequestDeadlineS": d.max_request_deadline_s,
        },
        "retries": {
            "maxAttemptsPerKey": r.max_attempts_per_key,
            "maxAttemptsPerIntent": r.max_attempts_per_intent,
            "inlineWaitMaxS": r.inline_wait_max_s,
        },
        "cooldowns": {str(k): _cooldown(v) for k, v in s.cooldowns.items()},
        "tools": {
            "highRisk": list(t.high_risk),
            "highRiskDeferred": list(t.high_risk_deferred),
            "alsoHighRisk": list(t.also_high_risk),
            "allowOnLocal": list(t.allow_on_local),
        },
        "state": {"backend": s.state.backend, "directory": s.state.directory,
                  "namespace": s.state.namespace, "onUnavailable": s.state.on_unavailable,
                  **({"url": s.state.url.reveal()} if s.state.url else {})},
        "audit": {"path": s.audit.path, "maxBytes": s.audit.max_bytes, "keep": s.audit.keep},
        "proxy": {"host": s.proxy.host, "port": s.proxy.port,
                  "maxBodyBytes": s.proxy.max_body_bytes,
                  **({"token": s.proxy.token.reveal()} if s.proxy.token else {})},
        "sidecar": {"command": list(s.sidecar.command), "timeoutMs": s.sidecar.timeout_ms},
        "alerts": {"hardStopShare": s.alerts.hard_stop_share, "localShare": s.alerts.local_share},
        "bannedModels": list(s.banned_models),
        "probeIntervalS": s.probe_interval_s,
        "allowRemoteLocal": s.allow_remote_local,
        "failureWindowS": s.failure_window_s,
    }  # fmt: skip


def _chain(refs: list[str]) -> dict[str, Any]:
    return {"primary": refs[0], "fallbacks": refs[1:]} if refs else {}


def render_standalone(table: RouteTable) -> dict[str, Any]:
    """The table as a standalone failover document that loads back to the same table."""
    local = sorted(
        {c.ref for r in table.routes.values() for c in r.candidates if c.tier is Tier.LOCAL
         and table.providers[c.provider].api != "ollama"}
    )  # fmt: skip
    settings = _settings(table.settings, local)
    settings["routes"] = {
        name: _chain([c.ref for c in route.candidates])
        for name, route in table.routes.items()
        if name != "auto"
    }
    shared = {pid: _shared(p) for pid, p in table.providers.items() if _shared(p)}
    auto = table.routes.get("auto")
    doc: dict[str, Any] = {
        "agents": {"defaults": {"model": _chain([c.ref for c in auto.candidates] if auto else [])}},
        "providers": {pid: _provider(p) for pid, p in table.providers.items()},
        "failover": settings,
    }
    if shared:
        doc["models"] = {"providers": shared}
    return doc
