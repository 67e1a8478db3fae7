"""Prometheus metrics of one proxy app, in a registry of its own (no process globals)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .._errors import AttemptRecord
from .._exchange import AnswerMeta

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ProxyMetrics:
    """Requests, attempts, fallbacks, blocked tools, reloads, cooldowns and latencies."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        reg = self.registry
        self.requests = Counter(
            "openclaw_failover_requests",
            "Chat requests by route, outcome and streaming.",
            ["route", "outcome", "stream"],
            registry=reg,
        )
        self.attempts = Counter(
            "openclaw_failover_attempts",
            "Upstream attempts by provider, model, tier and reason.",
            ["provider", "model", "tier", "reason"],
            registry=reg,
        )
        self.fallbacks = Counter(
            "openclaw_failover_fallbacks",
            "Answers served by a candidate other than the primary.",
            ["provider", "model", "tier"],
            registry=reg,
        )
        self.tools_blocked = Counter(
            "openclaw_failover_tools_blocked",
            "High-risk tools removed from requests answered by the local tier.",
            ["tool"],
            registry=reg,
        )
        self.reloads = Counter(
            "openclaw_failover_config_reloads",
            "Config reloads by result.",
            ["result"],
            registry=reg,
        )
        self.first_token = Histogram(
            "openclaw_failover_first_token_seconds",
            "Request start to the first token.",
            ["route", "tier"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.duration = Histogram(
            "openclaw_failover_request_seconds",
            "Request start to the last byte.",
            ["route", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.concurrency_limit = Gauge(
            "openclaw_failover_concurrency_limit",
            "Current concurrency limit per provider (0 = none).",
            ["provider"],
            registry=reg,
        )
        self.limiter_wait = Counter(
            "openclaw_failover_concurrency_wait_seconds",
            "Time spent waiting for a provider slot.",
            ["provider"],
            registry=reg,
        )
        self.probes = Counter(
            "openclaw_failover_probes",
            "Background probes by provider, model and result.",
            ["provider", "model", "result"],
            registry=reg,
        )
        self.cooldowns = Gauge(
            "openclaw_failover_active_cooldowns",
            "Candidates cooling down now (1) by route candidate.",
            ["provider", "model"],
            registry=reg,
        )

    def _child(self, metric: Any, *labels: str) -> Any:
        # ``labels()`` costs microseconds per call; the label sets here are few and stable.
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def record_attempts(self, attempts: Iterable[AttemptRecord]) -> None:
        """Count each attempt (skips included, as reason ``skipped:<reason>``)."""
        for a in attempts:
            reason = a.reason or "ok"
            if a.skipped:
                reason = f"skipped:{reason}"
            self._child(self.attempts, a.provider, a.model, a.tier, reason).inc()

    def record_answer(self, meta: AnswerMeta, *, first_token_s: float) -> None:
        """Count what an answered request tried and who answered."""
        if meta.attempt_log:
            self.record_attempts(meta.attempt_log)
        if not any(a.reason is None and not a.skipped for a in meta.attempt_log):
            self._child(self.attempts, meta.provider, meta.model, meta.tier, "ok").inc()
        if meta.downgraded:
            self._child(self.fallbacks, meta.provider, meta.model, meta.tier).inc()
        for tool in meta.tools_blocked:
            self._child(self.tools_blocked, tool).inc()
        self._child(self.first_token, meta.route, meta.tier).observe(first_token_s)

    def finish(self, *, route: str, outcome: str, stream: bool, duration_s: float) -> None:
        """Count one finished request and its duration."""
        self._child(self.requests, route, outcome, "true" if stream else "false").inc()
        self._child(self.duration, route, outcome).observe(duration_s)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
