"""``report --json`` figures against an independent oracle, over generated audit histories.

The history is realistic: proxy requests (attempts, skips of cooling candidates, cooldown_set,
tool_blocked, one outcome line), plugin runs with fewer fields (and legacy plugin runs with no
outcome line at all), manual interventions and other events, over three UTC days. Edge cases
are drawn on purpose: requests straddling an hour, stamps jittered by a few ms so that file
order and time order differ, one request id used by two instances at once, unknown fields, a
``v: 2`` line, damaged lines, rotated copies. The oracle recomputes every figure from the
records with plain loops, following the docstrings of ``_report.py`` and ``_report_buckets.py``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from openclaw_failover._report import build_report

T0 = 1_800_000_000 // 86400 * 86400  # a UTC midnight
NOW = T0 + 4 * 86400
CANDIDATES = [
    ("anthropic", "claude-opus-4-6", "cloud", ["anthropic:main", "anthropic:spare"]),
    ("openai", "gpt-5.4-mini", "cloud", ["openai:main"]),
    ("openrouter", "qwen/qwen3-coder", "cloud", ["openrouter:default"]),
    ("ollama", "qwen3:8b", "local", [None]),
]
RESULTS = [
    (200, None),
    (200, None),
    (429, "rate_limit"),
    (429, "overloaded"),
    (529, "overloaded"),
    (500, "server_error"),
    (None, "timeout"),
    (402, "billing"),
    (401, "auth"),
    (403, "auth_permanent"),
    (200, "empty_response"),
    (404, "model_not_found"),
    (400, "format"),
    (400, "context_overflow"),
    (None, "unknown"),
]
OUTCOMES = [
    "answered",
    "answered_downgraded",
    "hard_stop",
    "drift",
    "rejected",
    "client_error",
    "stream_error",
]
ANSWERED = ("answered", "answered_downgraded")
SESSIONS = st.sampled_from([None, None, "", "s1", "s2", "s3", "s4"])
LATENCY = st.one_of(
    st.none(), st.integers(0, 5000), st.floats(0, 5000, allow_nan=False), st.just(True)
)
BAD_LINES = [b"{not json", b"[1, 2]", b'"text"', b'{"v": 1, "ts": "soon", "event": "outcome"}']


@dataclass
class History:
    """The generated lines in file order (dicts, or raw bytes for damaged ones)."""

    lines: list[tuple[float, int, dict[str, Any] | bytes]] = field(default_factory=list)
    seq: int = 0

    def put(self, at_ms: int, line: dict[str, Any] | bytes) -> None:
        self.seq += 1
        self.lines.append((at_ms, self.seq, line))


def _line(draw: Any, at_ms: int, event: str, **fields: Any) -> dict[str, Any]:
    """One line stamped a few ms off its place in the file, maybe v2, maybe an unknown field
    (one draw for the three: generating, and so shrinking, stays fast)."""
    n = draw(st.integers(0, 7 * 4 * 10 * 4 - 1))
    data: dict[str, Any] = {"v": 2 if n // 7 % 4 == 3 else 1, "event": event}
    data["ts"] = (at_ms + (0, 1, -1, 2, -2, 3, -3)[n % 7]) / 1000
    data.update(fields)
    if n // 28 % 10 == 9:
        data["x_future"] = (["a"], {"k": 1}, "text", 7)[n // 280]
    return data


def _proxy_request(draw: Any, hist: History, rid: str, at_ms: int, instance: str) -> None:
    """Attempts (with skips, cooldown_set and tool_blocked beside them), then the outcome."""
    ids = {
        "request_id": rid,
        "instance": instance,
        "session_id": draw(SESSIONS),
        "route": draw(st.sampled_from(["auto", "auto", "batch", None])),
        "route_version": draw(st.sampled_from(["rv1", "rv2", ""])),
    }
    cand = failed = None
    steps = draw(st.integers(1, 4))
    for n in range(1, steps + 1):
        prov, model, tier, profiles = draw(st.sampled_from(CANDIDATES))
        if draw(st.integers(0, 3)) == 0:
            until = draw(st.sampled_from([None, (at_ms + 60_000) / 1000]))
            why = draw(st.sampled_from([None, *[r for _, r in RESULTS if r]]))
            hist.put(at_ms, _line(draw, at_ms, "skip", **ids, provider=prov, model=model,
                                  profile=draw(st.sampled_from(profiles)), reason=why,
                                  cooldown_until=until))  # fmt: skip
        at_ms += draw(st.integers(1, 90_000))
        status, reason = draw(st.sampled_from(RESULTS)) if n < steps else (200, None)
        if n == steps and draw(st.booleans()):
            status, reason = draw(st.sampled_from(RESULTS))
        cand = (prov, model, tier)
        failed = reason or failed
        hist.put(at_ms, _line(draw, at_ms, "attempt", **ids, provider=prov, model=model,
                              profile=draw(st.sampled_from(profiles)), tier=tier, attempt=n,
                              status=status, reason=reason, latency_ms=draw(LATENCY),
                              tools_blocked=[], config_path="/etc/oc.json"))  # fmt: skip
        if reason and draw(st.booleans()):
            scope = draw(st.sampled_from(["profile", "model", "provider"]))
            hist.put(at_ms + 1, _line(draw, at_ms + 1, "cooldown_set", **ids, provider=prov,
                                      model=None if scope == "provider" else model,
                                      profile=draw(st.sampled_from(profiles))
                                      if scope == "profile" else None, reason=reason,
                                      cooldown_until=at_ms / 1000 + 60))  # fmt: skip
    if draw(st.integers(0, 4)) == 0:
        hist.put(at_ms + 2, _line(draw, at_ms + 2, "tool_blocked", **ids, tier="local",
                                  tools_blocked=["exec"]))  # fmt: skip
    outcome = draw(st.sampled_from(OUTCOMES))
    down = draw(st.sampled_from([outcome == "answered_downgraded", steps > 1, None]))
    assert cand is not None
    hist.put(at_ms + 5, _line(draw, at_ms + 5, "outcome", **ids, provider=cand[0],
                              model=cand[1], tier=cand[2], outcome=outcome, downgraded=down,
                              reason=failed if draw(st.booleans()) else None,
                              latency_ms=draw(LATENCY)))  # fmt: skip


def _plugin_run(draw: Any, hist: History, rid: str, at_ms: int, *, legacy: bool) -> None:
    """A plugin run: fewer fields; a legacy one has no attempt numbers and no outcome line."""
    ids = {"request_id": rid, "instance": "plugin", "session_id": draw(SESSIONS)}
    ids["route_version"] = "rv1"
    steps, cand, failed = draw(st.integers(1, 3)), None, None
    for n in range(1, steps + 1):
        prov, model, tier, _ = draw(st.sampled_from(CANDIDATES))
        if draw(st.integers(0, 3)) == 0:
            reason = draw(st.sampled_from([r for _, r in RESULTS if r]))
            hist.put(at_ms, _line(draw, at_ms, "skip", **ids, provider=prov, model=model,
                                  tier=tier, reason=reason,
                                  cooldown_until=at_ms / 1000 + 30))  # fmt: skip
        at_ms += draw(st.integers(1, 60_000))
        reason = draw(st.sampled_from([r for _, r in RESULTS])) if n < steps else None
        if reason is None and n < steps:
            reason = "timeout"
        cand, failed = (prov, model, tier), reason or failed
        hist.put(at_ms, _line(draw, at_ms, "attempt", **ids, provider=prov, model=model,
                              tier=tier, attempt=None if legacy else n, reason=reason,
                              outcome="error" if reason else "completed",
                              latency_ms=draw(LATENCY)))  # fmt: skip
    if not legacy and cand is not None:
        outcome = draw(st.sampled_from(OUTCOMES))
        hist.put(at_ms + 3, _line(draw, at_ms + 3, "outcome", **ids, provider=cand[0],
                                  model=cand[1], tier=cand[2], attempt=steps, reason=failed,
                                  outcome=outcome, latency_ms=draw(LATENCY),
                                  downgraded=outcome == "answered_downgraded"))  # fmt: skip


@st.composite
def histories(draw: Any) -> tuple[History, int]:
    """Requests over three days (some straddling an hour, some sharing an id), other events
    and damaged lines; returns the history and how many damaged lines it holds."""
    hist = History()
    last: tuple[str, int, str] | None = None  # the request another instance may share an id with
    for i in range(draw(st.integers(0, 22))):
        hour = draw(st.integers(0, 71))
        near_end = draw(st.booleans())
        at_ms = hour * 3_600_000 + (
            3_600_000 - draw(st.integers(1, 200)) if near_end else draw(st.integers(0, 3_599_999))
        )
        rid, kind = f"r{i}", draw(st.sampled_from(["gw-a", "gw-b", "plugin", "legacy"]))
        if last and last[2].startswith("gw-") and draw(st.integers(0, 3)) == 0:
            # the same id on the other instance, at the same moment (a client's X-Request-Id)
            rid, at_ms = last[0], last[1] + draw(st.integers(0, 5))
            kind, last = ("gw-b" if last[2] == "gw-a" else "gw-a"), None
        else:
            last = (rid, at_ms, kind)
        at_ms += T0 * 1000
        if kind.startswith("gw-"):
            _proxy_request(draw, hist, rid, at_ms, kind)
        else:
            _plugin_run(draw, hist, f"{rid}-{kind}-{i}", at_ms, legacy=kind == "legacy")
    for _ in range(draw(st.integers(0, 4))):
        at_ms = T0 * 1000 + draw(st.integers(0, 3 * 86_400_000))
        event = draw(st.sampled_from(["manual_intervention", "config_loaded", "probe"]))
        hist.put(at_ms, _line(draw, at_ms, event, request_id="", provider="openai",
                              profile="openai:main", detail="cleared"))  # fmt: skip
    bad = draw(st.lists(st.sampled_from(BAD_LINES), max_size=2))
    for raw in bad:
        hist.put(T0 * 1000 + draw(st.integers(0, 3 * 86_400_000)), raw)
    hist.lines.sort(key=lambda x: (x[0], x[1]))
    return hist, len(bad)


# --------------------------------------------------------------------------- the oracle


def _kind(outcome: Any, tier: Any, downgraded: Any) -> str:
    """How an intent ended, as ``outcome_kind``'s docstring defines it."""
    if outcome in ("hard_stop", "client_error"):
        return str(outcome)
    if outcome not in ANSWERED:
        return "other"
    if tier == "local":
        return "local"
    return "fallback" if downgraded or outcome == "answered_downgraded" else "primary"


def _intents(kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each outcome line (and each legacy plugin answer) with its kind and its trigger: the
    first failure or skip reason of the same request (instance and id) since its last one."""
    reasons: defaultdict[tuple[Any, Any], list[str]] = defaultdict(list)
    out: list[dict[str, Any]] = []
    for d in kept:
        request = (d.get("instance"), d.get("request_id"))
        if d["event"] in ("attempt", "skip") and d.get("reason"):
            reasons[request].append(d["reason"])
        if d["event"] == "outcome":
            kind = _kind(d.get("outcome"), d.get("tier"), d.get("downgraded"))
        elif d["event"] == "attempt" and d.get("outcome") == "completed" and d["attempt"] is None:
            earlier = bool(reasons.get(request))
            kind = _kind("answered_downgraded" if earlier else "answered", d.get("tier"), earlier)
        else:
            continue
        first = reasons.pop(request, [])
        out.append({**d, "kind": kind, "trigger": first[0] if first else d.get("reason")})
    return out


def _row(intents: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and exact shares over some intents (client errors apart)."""
    real = [i for i in intents if i["kind"] != "client_error"]
    n = {k: sum(i["kind"] == k for i in real) for k in ("primary", "fallback", "local")}
    n.update({k: sum(i["kind"] == k for i in real) for k in ("hard_stop", "other")})
    named = {i["session_id"] for i in real if isinstance(i["session_id"], str) and i["session_id"]}
    stopped = {
        i["session_id"]
        for i in real
        if i["kind"] == "hard_stop" and isinstance(i["session_id"], str) and i["session_id"]
    }
    loose = [i for i in real if not i["session_id"]]
    loose_stops = sum(i["kind"] == "hard_stop" for i in loose)

    def share(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    return {
        **n,
        "intents": len(real),
        "client_errors": len(intents) - len(real),
        "sessions": len(named),
        "hard_stop_sessions": len(stopped),
        "fallback_share": share(n["fallback"] + n["local"], len(real)),
        "cloud_fallback_share": share(n["fallback"], len(real)),
        "local_share": share(n["local"], len(real)),
        "hard_stop_share": share(n["hard_stop"], len(real)),
        "session_hard_stop_share": share(len(stopped) + loose_stops, len(named) + len(loose)),
    }


def _same_row(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    for name, value in want.items():
        if isinstance(value, float):  # the report rounds shares to 6 places
            assert abs(got[name] - value) <= 5.1e-7, (where, name, got[name], value)
        else:
            assert got[name] == value, (where, name, got[name], value)


def _grouped(intents: list[dict[str, Any]], width_s: int) -> dict[int, list[dict[str, Any]]]:
    groups: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for i in intents:
        groups[math.floor(i["ts"] / width_s) * width_s].append(i)
    return dict(sorted(groups.items()))


def _stamp(epoch: float, fmt: str) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(fmt)


def _nearest_rank(values: list[float], pct: int) -> float | None:
    """The smallest value with at least pct% of the values at or below it."""
    ordered = sorted(values)
    return next(
        (v for v in ordered if sum(x <= v for x in ordered) * 100 >= pct * len(ordered)), None
    )


def _check_buckets(data: dict[str, Any], kept: list[dict[str, Any]], intents: list[Any]) -> None:
    """Hours, days, totals and the plot series."""
    hours = _grouped(intents, 3600)
    assert [h["start"] for h in data["hours"]] == [_stamp(k, "%Y-%m-%dT%H:00Z") for k in hours]
    for got, part in zip(data["hours"], hours.values(), strict=True):
        _same_row(got, _row(part), got["start"])
    manual = [d for d in kept if d["event"] == "manual_intervention"]
    days = _grouped(intents, 86400)
    for d in manual:
        days.setdefault(math.floor(d["ts"] / 86400) * 86400, [])
    days = dict(sorted(days.items()))
    assert [d["start"] for d in data["days"]] == [_stamp(k, "%Y-%m-%d") for k in days]
    for got, (start, part) in zip(data["days"], days.items(), strict=True):
        _same_row(got, _row(part), got["start"])
        on_day = sum(start <= d["ts"] < start + 86400 for d in manual)
        assert got["manual_interventions"] == on_day
    _same_row(data["totals"], _row(intents), "totals")
    assert data["totals"]["manual_interventions"] == len(manual)
    assert data["downgrades"]["manual_interventions"] == len(manual)
    assert [m["ts"] for m in data["downgrades"]["manual"]] == [d["ts"] for d in manual]
    width_s = data["series"]["bucket_s"]
    series = _grouped(intents, width_s)
    assert data["series"]["t"] == [_stamp(k, "%Y-%m-%dT%H:%M:%SZ") for k in series]
    for n, part in enumerate(series.values()):
        row = _row(part)
        for name, key in (("fallback", "fallback_share"), ("local", "local_share")):
            assert abs(data["series"][f"{name}_pct"][n] - 100 * row[key]) <= 1e-4
        assert abs(data["series"]["hard_stop_pct"][n] - 100 * row["hard_stop_share"]) <= 1e-4


def _check_alerts(data: dict[str, Any], intents: list[Any], *, stop: float, local: float) -> None:
    """One alert per hour and metric whose share is above its threshold, in hour order."""
    want = []
    for start, part in _grouped(intents, 3600).items():
        row, hour = _row(part), _stamp(start, "%Y-%m-%dT%H:00Z")
        basis = "sessions" if row["sessions"] else "intents"
        value = row["session_hard_stop_share" if row["sessions"] else "hard_stop_share"]
        if value > stop:
            want.append(("hard_stop_share", hour, value, stop, basis))
        if row["local_share"] > local:
            want.append(("local_share", hour, row["local_share"], local, "intents"))
    got = [(a["metric"], a["hour"], a["value"], a["threshold"], a["basis"]) for a in data["alerts"]]
    assert [g[:2] + g[3:] for g in got] == [w[:2] + w[3:] for w in want]
    assert all(abs(g[2] - w[2]) <= 5.1e-7 for g, w in zip(got, want, strict=True))


def _check_rates_keys(data: dict[str, Any], kept: list[dict[str, Any]]) -> None:
    """429 and timeout rates per provider x model; failures and cooldowns per key."""
    attempts = [d for d in kept if d["event"] == "attempt"]
    pairs = sorted({(str(d["provider"]), str(d["model"])) for d in attempts})
    assert [(r["provider"], r["model"]) for r in data["rates"]] == pairs
    for r, pair in zip(data["rates"], pairs, strict=True):
        mine = [d for d in attempts if (str(d["provider"]), str(d["model"])) == pair]
        limited = [d for d in mine if d.get("status") == 429 or d["reason"] == "rate_limit"]
        timeouts = [d for d in mine if d["reason"] == "timeout"]
        assert (r["attempts"], r["rate_limited"]) == (len(mine), len(limited))
        assert (r["timeouts"], r["failures"]) == (
            len(timeouts),
            sum(bool(d["reason"]) for d in mine),
        )
        assert abs(r["rate_429"] - len(limited) / len(mine)) <= 5.1e-7
        assert abs(r["timeout_rate"] - len(timeouts) / len(mine)) <= 5.1e-7
    keys: dict[str, dict[str, Any]] = {}
    for d in kept:
        failure = d["event"] == "attempt" and d["reason"]
        hit = d["event"] == "skip" and d.get("cooldown_until") is not None
        cooled = d["event"] == "cooldown_set" and (d.get("profile") or d.get("model"))
        if not (failure or hit or cooled):
            continue
        by_model = f"{d['provider']}/{d['model']}" if d.get("model") else None
        name = d.get("profile") or by_model or f"{d['provider']} (provider)"
        key = keys.setdefault(name, {"profile": name, "provider": d["provider"], "failures": 0,
                                     "by_reason": Counter(), "cooldowns_set": 0,
                                     "cooldown_hits": 0})  # fmt: skip
        key["failures"] += bool(failure)
        key["by_reason"].update([d["reason"]] if failure else [])
        key["cooldowns_set"] += bool(cooled)
        key["cooldown_hits"] += hit
    assert data["keys"] == [
        {**k, "by_reason": dict(k["by_reason"])} for _, k in sorted(keys.items())
    ]


def _check_latency_triggers(data: dict[str, Any], intents: list[dict[str, Any]]) -> None:
    """p50/p95 of outcome latency per route; downgrade triggers; route versions."""
    routes: defaultdict[str, list[float]] = defaultdict(list)
    for i in intents:
        if i["kind"] != "client_error" and type(i.get("latency_ms")) in (int, float):
            routes[i.get("route") or "auto"].append(i["latency_ms"])
    want = [
        (r, len(v), _nearest_rank(v, 50), _nearest_rank(v, 95)) for r, v in sorted(routes.items())
    ]
    got = [(r["route"], r["n"], r["p50_ms"], r["p95_ms"]) for r in data["latency"]]
    assert got == want
    down = [i for i in intents if i["kind"] in ("fallback", "local")]
    assert data["downgrades"]["downgraded"] == len(down)
    want = Counter(i["trigger"] or "unknown" for i in down)
    assert data["downgrades"]["triggers"] == want, (data["downgrades"]["triggers"], want)
    versions = Counter(i["route_version"] for i in intents if i.get("route_version"))
    assert sorted(data["route_versions"]) == sorted(versions)
    counts = [versions[v] for v in data["route_versions"]]
    assert counts == sorted(counts, reverse=True)


def _write(tmp: Path, hist: History, copies: list[int]) -> list[dict[str, Any]]:
    """The history as audit.jsonl and rotated copies (oldest first); its records, in order."""
    raw = [x if isinstance(x, bytes) else orjson.dumps(x) for _, _, x in hist.lines]
    cuts = [0, *sorted(min(c, len(raw)) for c in copies), len(raw)]
    names = [f"audit.jsonl.{n}" for n in range(len(copies), 0, -1)] + ["audit.jsonl"]
    for name in {p.name for p in tmp.glob("audit.jsonl*")}:
        (tmp / name).unlink()
    for name, start, end in zip(names, cuts[:-1], cuts[1:], strict=True):
        (tmp / name).write_bytes(b"".join(x + b"\n" for x in raw[start:end]))
    return [x for _, _, x in hist.lines if isinstance(x, dict)]


@settings(
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow explain
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    drawn=histories(),
    copies=st.lists(st.integers(0, 200), max_size=2),
    since_h=st.one_of(st.none(), st.integers(0, 72)),
    span_h=st.one_of(st.none(), st.integers(1, 80)),
    bucket_s=st.sampled_from([3600, 3600, 900, 7200, 86400]),
    stop=st.sampled_from([0.15, 0.0, 0.25, 0.5]),
    local=st.sampled_from([0.35, 0.0, 0.2, 0.5]),
)
def test_report_figures_match_an_independent_oracle(
    tmp_path: Path,
    drawn: tuple[History, int],
    copies: list[int],
    since_h: int | None,
    span_h: int | None,
    bucket_s: int,
    stop: float,
    local: float,
) -> None:
    """Every figure of ``report --json`` equals the oracle's count over the generated lines."""
    hist, bad = drawn
    records = _write(tmp_path, hist, copies)
    since = T0 + since_h * 1800 if since_h is not None else -math.inf
    until = (since if since_h is not None else T0) + span_h * 3600 if span_h else None
    data = build_report(
        tmp_path / "audit.jsonl",
        now=NOW,
        since_s=NOW - since if since_h is not None else None,
        until_at=until,
        hard_stop_share=stop,
        local_share=local,
        series_bucket_s=bucket_s,
    ).to_json()
    end = until if until is not None else math.inf
    kept = [d for d in records if since <= d["ts"] < end]
    assert (data["lines"], data["bad_lines"]) == (len(kept), bad)
    intents = _intents(kept)
    _check_buckets(data, kept, intents)
    _check_alerts(data, intents, stop=stop, local=local)
    _check_rates_keys(data, kept)
    _check_latency_triggers(data, intents)


def test_one_request_id_on_two_instances_keeps_each_requests_trigger(tmp_path: Path) -> None:
    """Two instances each serve a request with the client's id r1 at once: gw-a's fallback was
    triggered by its own rate limit, though gw-b's r1 (answered by the primary) ended between
    (was: gw-b's outcome took gw-a's first failure, and gw-a's fallback counted as 'unknown')."""
    ids: dict[str, Any] = {"request_id": "r1", "route": "auto", "session_id": None}
    lines = [
        {"ts": T0 + 1.0, "event": "attempt", "instance": "gw-a", "provider": "anthropic",
         "model": "claude-opus-4-6", "status": 429, "reason": "rate_limit"},
        {"ts": T0 + 1.001, "event": "attempt", "instance": "gw-b", "provider": "anthropic",
         "model": "claude-opus-4-6", "status": 200, "reason": None},
        {"ts": T0 + 1.002, "event": "outcome", "instance": "gw-b", "outcome": "answered",
         "tier": "cloud", "downgraded": False},
        {"ts": T0 + 2.0, "event": "attempt", "instance": "gw-a", "provider": "openai",
         "model": "gpt-5.4-mini", "status": 200, "reason": None},
        {"ts": T0 + 2.001, "event": "outcome", "instance": "gw-a",
         "outcome": "answered_downgraded", "tier": "cloud", "downgraded": True},
    ]  # fmt: skip
    audit = tmp_path / "audit.jsonl"
    audit.write_bytes(b"".join(orjson.dumps({"v": 1, **ids, **x}) + b"\n" for x in lines))
    down = build_report(audit, now=NOW).to_json()["downgrades"]
    assert (down["downgraded"], down["triggers"]) == (1, {"rate_limit": 1})
