"""Analytics over audit lines: one streaming pass into hourly/daily shares, rates and alerts.

The pass keeps counters only (plus one latency list per route, and the first failure of at most
``_PENDING_MAX`` unfinished requests), so a million lines fit easily; ``build_report`` returns a
frozen :class:`Report` whose ``to_json`` is the one source for the CLI table, ``--json`` and the
plot.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ._audit_read import audit_paths
from ._report_buckets import Bucket, bucket_json, parse_since, report_window
from ._report_figures import alerts_json, latency_json, percentile, rates_json

__all__ = [
    "Report",
    "audit_files",
    "build_report",
    "outcome_kind",
    "parse_since",
    "percentile",
    "report_window",
]

_NUMBERS = (float, int)
#: Past this (the year 10000) an epoch has no date, and a bucket of it could not be printed.
_LAST_TS = 253_402_300_800.0
#: Fields the pass uses as dict keys: a line from a newer writer (or a corrupted one) with a
#: list or an object there is a bad line, not a crash of the whole report.
_TEXT_FIELDS = ("request_id", "reason", "route", "route_version", "profile")
#: Unfinished requests whose first failure is remembered for the downgrade triggers. A request
#: whose outcome line never comes (a plugin run with no agent_end, a sidecar that died, an older
#: plugin's run that never completed) would otherwise be kept to the end of the pass, so the
#: dict grew with the log; past this many the oldest is forgotten (its trigger, should its
#: outcome still come, is the outcome's own reason). Far above the requests in flight at once.
_PENDING_MAX = 10_000
#: The newest manual interventions listed in full; all of them are counted.
_MANUAL_LISTED = 20


#: The report reads the audit file and its rotated copies, oldest first.
audit_files = audit_paths


def _iso_hour(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:00Z")


def _iso_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def outcome_kind(line: dict[str, Any]) -> str:
    """How an outcome line ended: primary, fallback (cloud), local, hard_stop, client_error
    (the client's bad request or hang-up: no intent, kept out of every share) or other."""
    outcome = line.get("outcome")
    if outcome == "hard_stop":
        return "hard_stop"
    if outcome == "client_error":
        return "client_error"
    if outcome not in ("answered", "answered_downgraded"):
        return "other"
    if line.get("tier") == "local":
        return "local"
    if line.get("downgraded") or outcome == "answered_downgraded":
        return "fallback"
    return "primary"


@dataclass(frozen=True, slots=True)
class Report:
    """The finished report; ``data`` is the JSON document (``report --json``)."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready document (the plot reads its ``series``)."""
        return self.data


@dataclass(slots=True)
class _Pass:
    """Mutable counters for one streaming pass (private; frozen into a Report at the end)."""

    since: float
    until: float
    #: Lines stamped at or after this are outside the window; infinite when no --until was
    #: given, so lines stamped after now still count (clock skew).
    end: float = math.inf
    series_s: int = 3600
    hours: dict[int, Bucket] = field(default_factory=dict)
    series: dict[int, Bucket] = field(default_factory=dict)
    days: dict[int, Bucket] = field(default_factory=dict)
    rates: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    latency: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Keyed by :func:`_request`: the proxy takes the client's X-Request-Id, so two instances
    #: writing one audit may each serve a request with the same id at once.
    pending: dict[str, str] = field(default_factory=dict)
    triggers: Counter[str] = field(default_factory=Counter)
    manual: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_MANUAL_LISTED))
    manual_count: int = 0
    versions: Counter[str] = field(default_factory=Counter)
    lines: int = 0

    def add(self, line: dict[str, Any]) -> bool:
        """Fold one audit line into the counters; False for a bad line: no numeric ``ts`` (or
        one past the year 9999), or a key field that is not text."""
        ts: Any = line.get("ts")  # checked below with the fast exact-type test
        if type(ts) not in _NUMBERS or ts >= _LAST_TS:
            return False
        if ts < self.since or ts >= self.end:
            return True
        for name in _TEXT_FIELDS:
            value = line.get(name)
            if value is not None and type(value) is not str:
                return False
        self.lines += 1
        event = line.get("event")
        if event == "attempt":
            self._attempt(line)
            if line.get("outcome") == "completed" and line.get("attempt") is None:
                self._plugin_answer(line, ts)
        elif event == "outcome":
            self._outcome(line, ts)
        elif event == "skip":
            # Only a cooling (or being-probed) candidate's skip carries cooldown_until; the
            # others (a malformed stream event, a banned or keyless candidate, a context window
            # too small) are no cooldown hit.
            if type(line.get("cooldown_until")) in _NUMBERS:
                self._key(line)["cooldown_hits"] += 1
            self._trigger(line)
        elif event == "cooldown_set" and (line.get("profile") or line.get("model")):
            # provider-wide lines are the proxy's concurrency limiter, not a key or model cooldown
            self._key(line)["cooldowns_set"] += 1
        elif event == "manual_intervention":
            self._manual(line, ts)
        return True

    def _key(self, line: dict[str, Any]) -> dict[str, Any]:
        model = line.get("model")
        name = line.get("profile") or (
            f"{line.get('provider')}/{model}" if model else f"{line.get('provider')} (provider)"
        )
        entry = self.keys.get(name)
        if entry is None:
            entry = {
                "profile": name,
                "provider": line.get("provider"),
                "failures": 0,
                "by_reason": Counter(),
                "cooldowns_set": 0,
                "cooldown_hits": 0,
            }
            self.keys[name] = entry
        return entry

    def _trigger(self, line: dict[str, Any]) -> None:
        request = _request(line)
        reason = line.get("reason")
        if request and reason and request not in self.pending:
            self.pending[request] = str(reason)
            if len(self.pending) > _PENDING_MAX:  # the oldest, unfinished for too long
                del self.pending[next(iter(self.pending))]

    def _attempt(self, line: dict[str, Any]) -> None:
        pair = (str(line.get("provider")), str(line.get("model")))
        counts = self.rates.get(pair)
        if counts is None:
            counts = self.rates[pair] = [0, 0, 0, 0]
        counts[0] += 1
        reason = line.get("reason")
        if line.get("status") == 429 or reason == "rate_limit":
            counts[1] += 1
        if reason == "timeout":
            counts[2] += 1
        if reason:
            counts[3] += 1
            entry = self._key(line)
            entry["failures"] += 1
            entry["by_reason"][reason] += 1
            self._trigger(line)

    def _plugin_answer(self, line: dict[str, Any], ts: float) -> None:
        """A plugin that wrote no outcome lines (before they came per run, at ``agent_end``; its
        attempt lines carry no attempt number): its completed call is the intent's answer,
        downgraded when a failure or a skip came first in the same run. Lines with an attempt
        number are counted by their run's outcome line instead."""
        earlier = _request(line) in self.pending
        outcome = "answered_downgraded" if earlier else "answered"
        self._outcome({**line, "outcome": outcome, "downgraded": earlier}, ts)

    def _outcome(self, line: dict[str, Any], ts: float) -> None:
        kind = outcome_kind(line)
        trigger = self.pending.pop(_request(line), None)
        if kind in ("fallback", "local"):
            self.triggers[trigger or line.get("reason") or "unknown"] += 1
        session = line.get("session_id")
        # Only hours (and a finer plot series) are counted per line; days merge hours at the end.
        self._bucket(self.hours, int(ts // 3600) * 3600).add(kind, session)
        if self.series_s != 3600:
            step = int(ts // self.series_s) * self.series_s
            self._bucket(self.series, step).add(kind, session)
        latency: Any = line.get("latency_ms")
        if type(latency) in _NUMBERS and kind != "client_error":  # a hang-up's time is no answer's
            self.latency[line.get("route") or "auto"].append(latency)
        version = line.get("route_version")
        if version:
            self.versions[version] += 1

    @staticmethod
    def _bucket(table: dict[int, Bucket], start: int) -> Bucket:
        bucket = table.get(start)
        if bucket is None:
            bucket = table[start] = Bucket()
        return bucket

    def _manual(self, line: dict[str, Any], ts: float) -> None:
        day = int(ts // 86400) * 86400
        bucket = self.days.get(day)
        if bucket is None:
            bucket = self.days[day] = Bucket()
        bucket.manual += 1
        self.manual_count += 1
        self.manual.append(
            {
                "ts": ts,
                "at": datetime.fromtimestamp(ts, UTC).isoformat(),
                "profile": line.get("profile"),
                "provider": line.get("provider"),
                "detail": line.get("detail"),
            }
        )


def _request(line: dict[str, Any]) -> str:
    """The request a line belongs to, as one key: its id ("" for none), after the instance that
    wrote it and a newline when the line names one (an id from a header holds no newline)."""
    request_id: str = line.get("request_id") or ""
    instance = line.get("instance")
    if request_id and instance and type(instance) is str:
        return f"{instance}\n{request_id}"
    return request_id


def _series(run: _Pass) -> dict[str, Any]:
    """Percentages per plot bucket (an hour unless asked); the plot draws exactly these."""
    source = run.series if run.series_s != 3600 else run.hours
    rows = [(k, bucket_json("", b)) for k, b in sorted(source.items())]
    return {
        "bucket_s": run.series_s,
        "t": [datetime.fromtimestamp(k, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for k, _ in rows],
        "fallback_pct": [round(r["fallback_share"] * 100, 4) for _, r in rows],
        "local_pct": [round(r["local_share"] * 100, 4) for _, r in rows],
        "hard_stop_pct": [round(r["hard_stop_share"] * 100, 4) for _, r in rows],
    }


def _days_and_total(run: _Pass) -> tuple[list[dict[str, Any]], Bucket]:
    """Days are merged hours (plus the manual interventions counted per day)."""
    total = Bucket()
    for start, bucket in run.hours.items():
        day = run.days.get(start // 86400 * 86400)
        if day is None:
            day = run.days[start // 86400 * 86400] = Bucket()
        day.merge(bucket)
        total.merge(bucket)
    total.manual = run.manual_count
    return [bucket_json(_iso_day(k), b) for k, b in sorted(run.days.items())], total


def _finish(run: _Pass, *, hard_stop: float, local: float, paths: list[Path], bad: int) -> Report:
    hours = [bucket_json(_iso_hour(k), b) for k, b in sorted(run.hours.items())]
    days, total = _days_and_total(run)
    keys = [dict(k, by_reason=dict(k["by_reason"])) for _, k in sorted(run.keys.items())]
    data: dict[str, Any] = {
        "since": (
            datetime.fromtimestamp(run.since, UTC).isoformat() if math.isfinite(run.since) else None
        ),
        "until": datetime.fromtimestamp(run.until, UTC).isoformat(),
        # [since, until): False when until is the time of the report, and lines stamped after
        # it (clock skew) were counted too.
        "until_given": math.isfinite(run.end),
        "audit_files": [str(p) for p in paths],
        "lines": run.lines,
        "bad_lines": bad,
        "thresholds": {"hardStopShare": hard_stop, "localShare": local},
        "totals": bucket_json("total", total),
        "hours": hours,
        "days": days,
        "series": _series(run),
        "alerts": alerts_json(hours, hard_stop=hard_stop, local=local),
        "rates": rates_json(run.rates),
        "latency": latency_json(run.latency),
        "keys": keys,
        "downgrades": {
            "downgraded": total.fallback + total.local,
            "triggers": dict(run.triggers.most_common()),
            "manual_interventions": run.manual_count,
            "manual": list(run.manual),
        },
        "route_versions": [v for v, _ in run.versions.most_common()],
    }
    return Report(data)


def build_report(
    audit_path: str | Path,
    *,
    now: float,
    since_s: float | None = None,
    until_at: float | None = None,
    hard_stop_share: float = 0.15,
    local_share: float = 0.35,
    series_bucket_s: int = 3600,
) -> Report:
    """Read the audit file (and its rotations) once; report on ``[since, until)``.

    since is ``now - since_s`` (the start of the log without it); until is ``until_at`` (epoch),
    else ``now`` with lines stamped later still counted (clock skew).
    """
    paths = audit_files(audit_path)
    run = _Pass(
        since=now - since_s if since_s is not None else -math.inf,
        until=until_at if until_at is not None else now,
        end=until_at if until_at is not None else math.inf,
        series_s=series_bucket_s,
    )
    bad = 0
    add, loads, error = run.add, orjson.loads, orjson.JSONDecodeError
    for path in paths:  # the hot loop: no generator in between (a million lines, seconds)
        with path.open("rb") as handle:
            for raw in handle:
                try:
                    data = loads(raw)
                except error:
                    bad += 1 if raw.strip() else 0
                    continue
                if type(data) is not dict or not add(data):
                    bad += 1  # valid JSON but no audit record: the report is partial too
    return _finish(run, hard_stop=hard_stop_share, local=local_share, paths=paths, bad=bad)
