"""Prometheus metrics of one proxy app, in a registry of its own (no process globals)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from .._errors import AttemptRecord
from .._exchange import AnswerMeta

S = TypeVar("S")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _Count:
    """One label set of a :class:`LoopCounter`."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount``."""
        self.value += amount


class _Buckets:
    """One label set of a :class:`LoopHistogram`: a count per bucket (not cumulative; the
    last is ``+Inf``) and the sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, amount: float) -> None:
        """Count ``amount`` in the first bucket whose bound it does not exceed."""
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.total += amount


class _LoopMetric(Generic[S]):
    """A labelled metric family for the event loop's thread, exported at scrape time as the
    standard family: an update is one or two additions, where prometheus_client's own takes
    a lock per value (a counter once, a histogram twice) on every request. Not thread-safe:
    every update and every scrape happens on the proxy's event loop."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = list(labelnames)
        self._series: dict[tuple[str, ...], S] = {}
        registry.register(self)

    def labels(self, *values: str) -> S:
        """The series of one label set (created empty)."""
        found = self._series.get(values)
        if found is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {values}")
            found = self._series[values] = self._new()
        return found

    def _new(self) -> S:
        raise NotImplementedError

    def describe(self) -> list[Metric]:
        """The family's name, for the registry's duplicate check."""
        return [self._family()]

    def _family(self) -> Metric:
        raise NotImplementedError

    def collect(self) -> Iterator[Metric]:
        """The family with every series."""
        raise NotImplementedError


class LoopCounter(_LoopMetric[_Count]):
    """A counter family (``<name>_total``), updated as ``labels(...).inc()``."""

    def _new(self) -> _Count:
        return _Count()

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterator[Metric]:
        """The family with every series."""
        family = self._family()
        for values, series in self._series.items():
            family.add_metric(list(values), series.value)
        yield family


class LoopHistogram(_LoopMetric[_Buckets]):
    """A histogram family (``_bucket``, ``_count``, ``_sum``), updated as
    ``labels(...).observe(seconds)``."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self._bounds = tuple(sorted(float(b) for b in buckets))  # repr(): "0.005", "1.0"
        super().__init__(name, documentation, labelnames, registry=registry)

    def _new(self) -> _Buckets:
        return _Buckets(self._bounds)

    def _family(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterator[Metric]:
        """The family with every series, its buckets cumulative as the format wants."""
        family = self._family()
        for values, series in self._series.items():
            running, buckets = 0, []
            for bound, count in zip(self._bounds, series.counts, strict=False):
                running += count
                buckets.append((repr(bound), float(running)))
            buckets.append(("+Inf", float(running + series.counts[-1])))
            family.add_metric(list(values), buckets, series.total)
        yield family


class ProxyMetrics:
    """Requests, attempts, fallbacks, blocked tools, reloads, cooldowns and latencies."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = LoopCounter(
            "openclaw_failover_requests",
            "Chat requests by route, outcome and streaming.",
            ["route", "outcome", "stream"],
            registry=reg,
        )
        self.attempts = LoopCounter(
            "openclaw_failover_attempts",
            "Upstream attempts by provider, model, tier and reason.",
            ["provider", "model", "tier", "reason"],
            registry=reg,
        )
        self.fallbacks = LoopCounter(
            "openclaw_failover_fallbacks",
            "Answers served by a candidate other than the primary.",
            ["provider", "model", "tier"],
            registry=reg,
        )
        self.tools_blocked = LoopCounter(
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
        self.first_token = LoopHistogram(
            "openclaw_failover_first_token_seconds",
            "Request start to the first token.",
            ["route", "tier"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.duration = LoopHistogram(
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
        self.audit_dropped = Gauge(
            "openclaw_failover_audit_dropped_records",
            "Audit records not written (disk full or hung, path not writable) by the audit sink.",
            registry=reg,
        )

    def record_attempts(self, attempts: Iterable[AttemptRecord]) -> None:
        """Count each attempt (skips included, as reason ``skipped:<reason>``)."""
        for a in attempts:
            reason = a.reason or "ok"
            if a.skipped:
                reason = f"skipped:{reason}"
            self.attempts.labels(a.provider, a.model, a.tier, reason).inc()

    def record_answer(self, meta: AnswerMeta, *, first_token_s: float) -> None:
        """Count what an answered request tried and who answered."""
        if meta.attempt_log:
            self.record_attempts(meta.attempt_log)
        if not any(a.reason is None and not a.skipped for a in meta.attempt_log):
            self.attempts.labels(meta.provider, meta.model, meta.tier, "ok").inc()
        if meta.downgraded:
            self.fallbacks.labels(meta.provider, meta.model, meta.tier).inc()
        for tool in meta.tools_blocked:
            self.tools_blocked.labels(tool).inc()
        self.first_token.labels(meta.route, meta.tier).observe(first_token_s)

    def finish(self, *, route: str, outcome: str, stream: bool, duration_s: float) -> None:
        """Count one finished request and its duration."""
        self.requests.labels(route, outcome, "true" if stream else "false").inc()
        self.duration.labels(route, outcome).observe(duration_s)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
