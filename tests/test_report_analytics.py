"""Report analytics on a hand-built audit log whose answers are worked out in the comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from openclaw_failover._incident import find_request, render_incident
from openclaw_failover._ports import AuditRecord
from openclaw_failover._report import audit_files, build_report, parse_since, percentile
from openclaw_failover._report_buckets import parse_bucket

T0 = 1_800_000_000 // 86400 * 86400  # a UTC midnight
OPUS = ("anthropic", "claude-opus-4-6", "cloud")
MINI = ("openai", "gpt-5.4-mini", "cloud")
QWEN = ("ollama", "qwen3:8b", "local")


def intent(
    n: int,
    ts: float,
    steps: list[tuple[tuple[str, str, str], Any, Any]],
    outcome: str,
    *,
    route: str = "auto",
) -> list[AuditRecord]:
    """The lines of one intent: one attempt per step, then the outcome (latency 100 * (n + 1))."""
    rid = f"r{n}"
    lines = [
        AuditRecord(
            event="attempt",
            ts=ts,
            request_id=rid,
            session_id=f"s{n}",
            route=route,
            route_version="rv1",
            provider=p,
            model=m,
            tier=t,
            profile=f"{p}:main",
            attempt=i,
            status=status,
            reason=reason,
            latency_ms=10.0,
        )
        for i, ((p, m, t), status, reason) in enumerate(steps, start=1)
    ]
    p, m, t = steps[-1][0]
    lines.append(
        AuditRecord(
            event="outcome",
            ts=ts + 1,
            request_id=rid,
            session_id=f"s{n}",
            route=route,
            route_version="rv1",
            provider=p,
            model=m,
            tier=t,
            outcome=outcome,
            downgraded=len(steps) > 1,
            latency_ms=100.0 * (n + 1),
            config_path="/etc/oc.json",
        )
    )
    return lines


PRIMARY = [(OPUS, 200, None)]
TO_MINI = [(OPUS, 429, "rate_limit"), (MINI, 200, None)]
TO_LOCAL = [(OPUS, None, "timeout"), (MINI, 503, "server_error"), (QWEN, 200, None)]
STOPPED = [(OPUS, 429, "rate_limit"), (MINI, 429, "rate_limit"), (QWEN, None, "timeout")]


def hour0() -> list[AuditRecord]:
    """10 intents: 6 primary, 2 cloud fallback, 1 local, 1 hard stop."""
    out: list[AuditRecord] = []
    for n in range(6):
        out += intent(n, T0 + 60 * n, PRIMARY, "answered")
    out += intent(6, T0 + 360, TO_MINI, "answered_downgraded")
    out.insert(
        -2,
        AuditRecord(
            event="skip",
            ts=T0 + 360,
            request_id="r6",
            provider="anthropic",
            model="claude-opus-4-6",
            profile="anthropic:spare",
            reason="rate_limit",
            cooldown_until=T0 + 420,
        ),
    )
    out.append(
        AuditRecord(
            event="cooldown_set",
            ts=T0 + 361,
            provider="anthropic",
            profile="anthropic:main",
            reason="rate_limit",
        )
    )
    out += intent(7, T0 + 420, TO_MINI, "answered_downgraded")
    out += intent(8, T0 + 480, TO_LOCAL, "answered_downgraded")
    out += intent(9, T0 + 540, STOPPED, "hard_stop")
    return out


def hour1() -> list[AuditRecord]:
    """4 intents: 2 hard stops, 2 local (on route batch); one manual intervention."""
    h = T0 + 3600
    out = intent(10, h, STOPPED, "hard_stop") + intent(11, h + 60, STOPPED, "hard_stop")
    out += intent(12, h + 120, TO_LOCAL, "answered_downgraded", route="batch")
    out += intent(13, h + 180, TO_LOCAL, "answered_downgraded", route="batch")
    out.append(
        AuditRecord(
            event="cooldown_set",
            ts=h + 190,
            provider="anthropic",
            reason="rate_limit",
            detail="concurrency limit lowered to 2 after a 429",
        )
    )
    out.append(
        AuditRecord(
            event="manual_intervention",
            ts=h + 200,
            provider="anthropic",
            detail="cooldowns clear --provider anthropic",
        )
    )
    return out


def write(path: Path, records: list[AuditRecord], tail: bytes = b"") -> None:
    """Write records as JSON lines, plus optional raw bytes at the end."""
    path.write_bytes(b"".join(orjson.dumps(r.to_json()) + b"\n" for r in records) + tail)


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    """Hour 0 in the rotated file, hour 1 plus an old line and a torn line in the live file."""
    live = tmp_path / "audit.jsonl"
    write(tmp_path / "audit.jsonl.1", hour0())
    old = intent(99, T0 - 10 * 86400, STOPPED, "hard_stop")
    write(live, old + hour1(), tail=b'{"event": "outc')
    return live


@pytest.fixture
def report(audit: Path) -> dict[str, Any]:
    """The report over the last 7 days, 'now' two hours after T0."""
    return build_report(audit, now=T0 + 7200, since_s=parse_since("7d")).to_json()


def test_reads_rotated_files_oldest_first(audit: Path) -> None:
    """audit.jsonl.1 is read before audit.jsonl."""
    assert [p.name for p in audit_files(audit)] == ["audit.jsonl.1", "audit.jsonl"]


def test_hourly_fallback_shares_by_tier(report: dict[str, Any]) -> None:
    """Hour 0: 3 of 10 intents fell back (2 cloud, 1 local), 1 hard stop; hour 1: half local."""
    h0, h1 = report["hours"]
    assert (h0["intents"], h0["primary"], h0["fallback"], h0["local"], h0["hard_stop"]) == (
        10,
        6,
        2,
        1,
        1,
    )
    assert (h0["fallback_share"], h0["local_share"], h0["hard_stop_share"]) == (0.3, 0.1, 0.1)
    assert (h1["intents"], h1["local_share"], h1["hard_stop_share"]) == (4, 0.5, 0.5)
    assert report["series"]["fallback_pct"] == [30.0, 50.0]
    assert report["series"]["t"] == [
        h0["start"].replace(":00Z", ":00:00Z"),
        h1["start"].replace(":00Z", ":00:00Z"),
    ]


def test_window_excludes_old_lines_and_counts_torn_line(report: dict[str, Any]) -> None:
    """A line older than --since is left out; a torn last line is counted as bad, not fatal."""
    assert report["totals"]["intents"] == 14
    assert report["bad_lines"] == 1


def test_every_skipped_line_is_a_bad_line(tmp_path: Path) -> None:
    """Non-objects and lines without a numeric ts count as bad too (were skipped silently)."""
    live = tmp_path / "audit.jsonl"
    good = intent(1, T0 + 60, [(OPUS, 200, None)], "answered")
    broken = [b"not json at all", b'{"v":1,"ts":"yesterday","event":"outcome"}', b"[1,2]"]
    broken += [b'{"v":1}', b"null", b'"text"', b""]  # the blank line carries nothing: not bad
    write(live, good, tail=b"\n".join(broken) + b"\n")
    data = build_report(live, now=T0 + 3600).to_json()
    assert data["totals"]["intents"] == 1
    assert data["bad_lines"] == 6


def test_alerts_only_in_the_hour_over_thresholds(report: dict[str, Any]) -> None:
    """Hour 1 alerts on sessions hitting the hard stop (2/4) and on local share (0.5 > 0.35)."""
    hour1_start = report["hours"][1]["start"]
    assert {(a["metric"], a["hour"], a["value"], a["basis"]) for a in report["alerts"]} == {
        ("hard_stop_share", hour1_start, 0.5, "sessions"),
        ("local_share", hour1_start, 0.5, "intents"),
    }
    assert report["hours"][0]["session_hard_stop_share"] == 0.1


def test_hard_stops_without_a_session_still_alert_beside_lines_with_one(tmp_path: Path) -> None:
    """An hour mixing plugin lines (session id) and proxy lines (none, as OpenClaw sends it
    on the provider path): 5 hard stops without a session among 11 intents still alert,
    each intent without a session counting as a session of its own."""
    records: list[AuditRecord] = []
    for n in range(10):
        kind = "hard_stop" if n < 5 else "answered"
        lines = intent(n, T0 + 60 + n, STOPPED if n < 5 else PRIMARY, kind)
        records += [line._replace(session_id=None) for line in lines]
    records += intent(50, T0 + 90, PRIMARY, "answered")  # the one line with a session
    path = tmp_path / "audit.jsonl"
    write(path, records)
    data = build_report(path, now=T0 + 3600, since_s=parse_since("1d")).to_json()
    [alert] = [a for a in data["alerts"] if a["metric"] == "hard_stop_share"]
    assert (alert["value"], alert["basis"]) == (round(5 / 11, 6), "sessions")
    assert data["hours"][0]["session_hard_stop_share"] == round(5 / 11, 6)


def test_rates_by_provider_and_model(report: dict[str, Any]) -> None:
    """429 and timeout rates are split per provider x model, not blended."""
    rates = {(r["provider"], r["model"]): r for r in report["rates"]}
    opus = rates[("anthropic", "claude-opus-4-6")]
    assert (opus["attempts"], opus["rate_limited"], opus["timeouts"]) == (14, 5, 3)
    assert opus["rate_429"] == round(5 / 14, 6)
    mini = rates[("openai", "gpt-5.4-mini")]
    assert (mini["attempts"], mini["rate_limited"], mini["timeouts"]) == (8, 3, 0)
    assert rates[("ollama", "qwen3:8b")]["timeout_rate"] == 0.5


def test_latency_percentiles_per_route(report: dict[str, Any]) -> None:
    """Nearest-rank p50/p95 of outcome latency: auto 100..1200 ms, batch 1300/1400 ms."""
    latency = {r["route"]: r for r in report["latency"]}
    assert (latency["auto"]["p50_ms"], latency["auto"]["p95_ms"]) == (600.0, 1200.0)
    assert (latency["batch"]["p50_ms"], latency["batch"]["p95_ms"]) == (1300.0, 1400.0)


def test_key_failures_and_cooldown_hits(report: dict[str, Any]) -> None:
    """Failures per key by reason; a skip counts as a cooldown hit, cooldown_set as a cooldown."""
    keys = {k["profile"]: k for k in report["keys"]}
    main = keys["anthropic:main"]
    assert main["failures"] == 8
    assert main["by_reason"] == {"rate_limit": 5, "timeout": 3}
    assert main["cooldowns_set"] == 1
    assert keys["anthropic:spare"]["cooldown_hits"] == 1
    assert "anthropic (provider)" not in keys  # the limiter's provider-wide line is no cooldown


def test_downgrade_triggers_against_manual_interventions(report: dict[str, Any]) -> None:
    """Triggers are the first failure of each downgraded intent; one manual intervention."""
    downgrades = report["downgrades"]
    assert downgrades["downgraded"] == 5
    assert downgrades["triggers"] == {"timeout": 3, "rate_limit": 2}
    assert downgrades["manual_interventions"] == 1
    assert report["days"][0]["manual_interventions"] == 1
    assert report["totals"]["manual_interventions"] == 1


def test_parse_since_units_and_error() -> None:
    """Durations take s/m/h/d/w; anything else is an error naming --since."""
    assert parse_since("7d") == 7 * 86400
    assert parse_since("90m") == 5400
    with pytest.raises(ValueError, match="--since"):
        parse_since("last week")


@pytest.mark.parametrize("zero", ["0d", "0h", "0.0m"])
def test_parse_since_refuses_zero(zero: str) -> None:
    """A zero look-back (or --bucket) is an error, not an empty report or a 1 s bucket."""
    with pytest.raises(ValueError, match="above zero"):
        parse_since(zero)


def test_parse_bucket_units_match_its_help_and_error() -> None:
    """--bucket takes s/m/h/d as whole seconds; w, 0 and sub-second widths are errors."""
    assert [parse_bucket(t) for t in ("1h", "15m", "1d", "30s", "1.5h")] == [
        3600,
        900,
        86400,
        30,
        5400,
    ]
    with pytest.raises(ValueError, match=r"--bucket: found '1w'; expected .* s/m/h/d"):
        parse_bucket("1w")
    for zero in ("0h", "0.2s"):
        with pytest.raises(
            ValueError, match=r"--bucket: found .*; expected a width of at least 1s"
        ):
            parse_bucket(zero)


def test_percentile_nearest_rank() -> None:
    """p50 of 1..4 is 2, p95 is 4, and an empty list has none."""
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 95) == 4.0
    assert percentile([], 50) is None


def test_incident_template_has_attempts_version_and_config(audit: Path) -> None:
    """--incident prints the request's attempts, route version, config path and samples."""
    own, samples = find_request(audit_files(audit), "r9")
    text = render_incident("r9", own, samples, config_path=None)
    assert "route version rv1" in text
    assert "config: /etc/oc.json" in text
    assert text.count("| attempt |") == 3
    assert "429" in text
    assert "timeout" in text
    assert "r8: answered_downgraded" in text


def test_incident_unknown_request(audit: Path) -> None:
    """An unknown request id says so instead of printing an empty template."""
    own, samples = find_request(audit_files(audit), "nope")
    assert "not in the audit log" in render_incident("nope", own, samples, config_path=None)


def test_series_bucket_can_be_finer_than_an_hour(audit: Path) -> None:
    """With 5-minute buckets hour 0 splits into 0% and 60% fallback; alerts stay hourly."""
    data = build_report(audit, now=T0 + 7200, since_s=86400, series_bucket_s=300).to_json()
    assert data["series"]["bucket_s"] == 300
    assert data["series"]["fallback_pct"] == [0.0, 60.0, 50.0]
    assert data["series"]["local_pct"] == [0.0, 20.0, 50.0]
    assert len(data["alerts"]) == 2


def test_plugin_path_completed_calls_count_as_intents(tmp_path: Path) -> None:
    """Plugin lines have no outcome line: a completed call answers its run, downgraded when a
    failed call came first; the failed call still counts in the rates."""
    lines = [
        AuditRecord(
            event="attempt",
            ts=T0,
            request_id="run-1",
            provider="anthropic",
            model="claude-opus-4-6",
            tier="cloud",
            outcome="completed",
            latency_ms=900.0,
        ),
        AuditRecord(
            event="attempt",
            ts=T0 + 5,
            request_id="run-2",
            provider="anthropic",
            model="claude-opus-4-6",
            tier="cloud",
            outcome="error",
            reason="rate_limit",
            failure_kind="rate_limit",
        ),
        AuditRecord(
            event="attempt",
            ts=T0 + 9,
            request_id="run-2",
            provider="ollama",
            model="qwen3:8b",
            tier="local",
            outcome="completed",
            latency_ms=4000.0,
        ),
    ]
    write(tmp_path / "audit.jsonl", lines)
    data = build_report(tmp_path / "audit.jsonl", now=T0 + 60).to_json()
    totals = data["totals"]
    assert (totals["intents"], totals["primary"], totals["local"]) == (2, 1, 1)
    assert data["downgrades"]["triggers"] == {"rate_limit": 1}
    assert data["rates"][0]["rate_limited"] == 1
