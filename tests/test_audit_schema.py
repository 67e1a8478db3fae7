"""The audit line schema: exactly the record's fields, the design's vocabulary, and every line
the sink writes validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_failover._audit import JsonlAuditSink, read_audit
from openclaw_failover._model import FailureReason
from openclaw_failover._ports import AuditRecord

ROOT = Path(__file__).resolve().parents[1]
SCHEMA: dict[str, Any] = json.loads((ROOT / "schemas" / "audit-record.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

#: DESIGN.md, "Files it owns": the fields of an audit line.
DESIGN_FIELDS = {
    "v", "ts", "event", "request_id", "trace_id", "session_id", "instance", "route",
    "route_version", "provider", "model", "profile", "tier", "attempt", "status", "reason",
    "outcome", "latency_ms", "ttfb_ms", "downgraded", "tools_blocked", "failure_kind",
    "config_path",
}  # fmt: skip
DESIGN_EVENTS = {
    "attempt", "skip", "outcome", "cooldown_set", "cooldown_cleared", "probe", "tool_blocked",
    "config_loaded", "manual_intervention",
}  # fmt: skip
#: Added beyond the design's list: a shared state store falling back to local state and back.
EXTRA_EVENTS = {"state_degraded", "state_restored"}
DESIGN_OUTCOMES = {
    "answered", "answered_downgraded", "hard_stop", "drift", "rejected", "client_error",
    "stream_error",
}  # fmt: skip


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The schema itself checks out against the 2020-12 meta-schema."""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_lists_exactly_the_record_fields() -> None:
    """The schema's properties are AuditRecord's fields plus v; unknown fields are refused."""
    fields = set(AuditRecord._fields) | {"v"}
    assert set(SCHEMA["properties"]) == fields
    assert set(AuditRecord(event="attempt", ts=0.0).to_json()) == fields
    assert SCHEMA["additionalProperties"] is False


def test_schema_covers_the_design_fields() -> None:
    """Every field the design names is in the schema; the extras are the record's two notes."""
    assert set(SCHEMA["properties"]) - DESIGN_FIELDS == {"detail", "cooldown_until"}
    assert set(SCHEMA["properties"]) >= DESIGN_FIELDS


def test_event_and_outcome_vocabulary() -> None:
    """event is the design's list plus the state-store events; outcomes include the design's."""
    assert set(SCHEMA["properties"]["event"]["enum"]) == DESIGN_EVENTS | EXTRA_EVENTS
    then = SCHEMA["allOf"][0]["then"]["properties"]["outcome"]["enum"]
    assert set(then) >= DESIGN_OUTCOMES


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event": "exploded"}, "event"),
        ({"api_key": "sk-x"}, "api_key"),
        ({"tier": "orbit"}, "tier"),
        ({"status": 42}, "status"),
        ({"event": "outcome", "outcome": "fine"}, "outcome"),
        ({"tools_blocked": "exec"}, "tools_blocked"),
    ],
)
def test_bad_lines_are_refused(change: dict[str, Any], field: str) -> None:
    """Unknown fields, events, tiers and outcomes and mistyped values fail validation."""
    line = {**AuditRecord(event="attempt", ts=1.0).to_json(), **change}
    errors = list(VALIDATOR.iter_errors(line))
    assert errors
    assert any(field in json.dumps(list(e.absolute_path)) + e.message for e in errors)


_text = st.text(max_size=20)
_opt = st.none() | _text
RECORDS = st.builds(
    AuditRecord,
    event=st.sampled_from(sorted(DESIGN_EVENTS - {"outcome"})),
    ts=st.floats(min_value=0, max_value=4e9),
    request_id=_text,
    trace_id=_opt,
    session_id=_opt,
    instance=_text,
    route=_opt,
    route_version=_text,
    provider=_opt,
    model=_opt,
    profile=_opt,
    tier=st.sampled_from([None, "cloud", "local"]),
    attempt=st.none() | st.integers(min_value=0, max_value=50),
    status=st.none() | st.integers(min_value=100, max_value=599),
    reason=st.none() | st.sampled_from([r.value for r in FailureReason]),
    outcome=_opt,
    latency_ms=st.none() | st.floats(min_value=0, max_value=1e7),
    ttfb_ms=st.none() | st.floats(min_value=0, max_value=1e7),
    downgraded=st.none() | st.booleans(),
    tools_blocked=st.lists(_text, max_size=3).map(tuple),
    failure_kind=_opt,
    config_path=_opt,
    detail=_opt,
    cooldown_until=st.none() | st.floats(min_value=0, max_value=4e9),
)


@settings(max_examples=200, deadline=None)
@given(records=st.lists(RECORDS, min_size=1, max_size=20))
def test_every_line_the_sink_writes_validates(
    tmp_path_factory: Any, records: list[AuditRecord]
) -> None:
    """Arbitrary records written by JsonlAuditSink read back as lines that pass the schema."""
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    sink = JsonlAuditSink(path)
    for r in records:
        sink.emit(r)
    sink.close()
    lines = list(read_audit(path))
    assert len(lines) == len(records)
    for line in lines:
        VALIDATOR.validate(line)


@pytest.mark.parametrize("outcome", sorted(DESIGN_OUTCOMES))
def test_outcome_lines_validate(tmp_path: Path, outcome: str) -> None:
    """An outcome line with each design outcome, written by the sink, validates."""
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")
    sink.emit(AuditRecord(event="outcome", ts=1.0, outcome=outcome, tier="cloud", attempt=2))
    sink.close()
    (line,) = read_audit(tmp_path / "audit.jsonl")
    VALIDATOR.validate(line)
