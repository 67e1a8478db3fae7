"""The incident template: one request's attempts, its route version and config path, and samples.

It reads the audit the same way the report does and renders Markdown an on-call engineer can
paste into a ticket; the blanks are the parts only a human can fill in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = ["find_request", "incident_json", "render_incident"]

_SAMPLE_WINDOW_S = 300.0
_SAMPLES = 5


def _lines_with(paths: Iterable[Path], needle: bytes | None) -> Iterable[dict[str, Any]]:
    """The audit lines holding ``needle`` that parse to an object with a numeric ``ts``."""
    for path in paths:
        with path.open("rb") as handle:
            for raw in handle:
                if needle is not None and needle not in raw:
                    continue
                try:
                    data = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                # a line without a numeric ts is bad, as the report counts it; it must not
                # stop the incident view (float() of null or text raised here before)
                if isinstance(data, dict) and type(data.get("ts")) in (int, float):
                    yield data


def find_request(
    paths: list[Path], request_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The request's own lines, and up to five other outcomes within five minutes of it."""
    needle = orjson.dumps(request_id)
    own = [d for d in _lines_with(paths, needle) if d.get("request_id") == request_id]
    if not own:
        return [], []
    first = min(float(d.get("ts", 0)) for d in own)
    samples: list[dict[str, Any]] = []
    for data in _lines_with(paths, b'"outcome"'):
        if data.get("event") != "outcome" or data.get("request_id") == request_id:
            continue
        if abs(float(data.get("ts", 0)) - first) <= _SAMPLE_WINDOW_S:
            samples.append(data)
            if len(samples) >= _SAMPLES:
                break
    return own, samples


def _at(data: dict[str, Any]) -> str:
    return datetime.fromtimestamp(float(data.get("ts", 0)), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[
        :-3
    ]


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _attempt_rows(own: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| time (UTC) | event | provider/model | profile | tier | status | reason | latency ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in own:
        if d.get("event") == "outcome":
            continue
        ref = f"{_cell(d.get('provider'))}/{_cell(d.get('model'))}"
        rows.append(
            f"| {_at(d)} | {_cell(d.get('event'))} | {ref} | {_cell(d.get('profile'))} "
            f"| {_cell(d.get('tier'))} | {_cell(d.get('status'))} | {_cell(d.get('reason'))} "
            f"| {_cell(d.get('latency_ms'))} |"
        )
    return rows


def _outcome(own: list[dict[str, Any]]) -> dict[str, Any]:
    """The request's last outcome line ({} when it has none)."""
    return next((d for d in reversed(own) if d.get("event") == "outcome"), {})


def _summary(own: list[dict[str, Any]], config_path: str | None) -> list[str]:
    """The when / outcome / route version / config / session lines."""
    outcome = _outcome(own)
    first = own[0]
    version = outcome.get("route_version") or first.get("route_version")
    return [
        f"- when (UTC): {_at(first)}",
        f"- outcome: {_cell(outcome.get('outcome'))} by {_cell(outcome.get('provider'))}/"
        f"{_cell(outcome.get('model'))} (tier {_cell(outcome.get('tier'))}, "
        f"downgraded {_cell(outcome.get('downgraded'))}, {_cell(outcome.get('latency_ms'))} ms)",
        f"- route: {_cell(outcome.get('route') or first.get('route'))}, "
        f"route version {_cell(version)}",
        f"- config: {_cell(outcome.get('config_path') or first.get('config_path') or config_path)}",
        f"- session: {_cell(first.get('session_id'))}, trace: {_cell(first.get('trace_id'))}, "
        f"instance: {_cell(first.get('instance'))}",
    ]


def render_incident(
    request_id: str,
    own: list[dict[str, Any]],
    samples: list[dict[str, Any]],
    *,
    config_path: str | None,
) -> str:
    """The Markdown incident template for ``request_id`` (or a one-line 'not found')."""
    if not own:
        return f"request {request_id!r} is not in the audit log (check --since and --audit)"
    lines = [
        f"# Incident: request {request_id}",
        "",
        *_summary(own, config_path),
        "",
        "## Attempts",
        "",
        *_attempt_rows(own),
        "",
        "## Other requests within 5 minutes (samples)",
        "",
    ]
    for d in samples:
        lines.append(
            f"- {_at(d)} {_cell(d.get('request_id'))}: {_cell(d.get('outcome'))} by "
            f"{_cell(d.get('provider'))}/{_cell(d.get('model'))} ({_cell(d.get('latency_ms'))} ms)"
        )
    if not samples:
        lines.append("- none")
    lines += [
        "",
        "## Impact",
        "",
        "_who was affected, for how long_",
        "",
        "## Actions taken",
        "",
        "_cooldowns cleared, routes changed (with the new version)_",
    ]
    return "\n".join(lines)


def incident_json(
    request_id: str,
    own: list[dict[str, Any]],
    samples: list[dict[str, Any]],
    *,
    config_path: str | None,
    audit_files: list[Path],
) -> dict[str, Any]:
    """The ``report --incident ID --json`` document: what the template shows, with the report's
    field names (``audit_files``) and the audit's (``request_id``, ``route_version``); the
    request's own audit lines as written (``records``) and the nearby outcomes (``samples``)."""
    outcome, first = _outcome(own), own[0] if own else {}
    return {
        "request_id": request_id,
        "found": bool(own),
        "audit_files": [str(p) for p in audit_files],
        "route": outcome.get("route") or first.get("route"),
        "route_version": outcome.get("route_version") or first.get("route_version"),
        "config_path": outcome.get("config_path") or first.get("config_path") or config_path,
        "outcome": outcome.get("outcome"),
        "records": own,
        "samples": samples,
    }
