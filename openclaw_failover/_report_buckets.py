"""The report's time: its window (``--since``/``--until``), its bucket width (``--bucket``) and
one time bucket (how intents ended, by tier, and which sessions hit a hard stop)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Bucket", "bucket_json", "parse_bucket", "parse_since", "report_window", "share"]

_WIDTH = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd])\s*")
_WIDTH_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_EXAMPLE_ISO = "2026-01-31T01:10:00Z"


def parse_since(text: str) -> float:
    """Parse a look-back such as ``7d``, ``24h``, ``90m``, ``2w`` into seconds."""
    return _duration(text, option="--since")


def _instant(text: str, *, option: str, now: float) -> float:
    """One end of the window: a look-back (that long before ``now``) or an ISO-8601 time."""
    if _DURATION.match(text):
        return _on_calendar(now - _duration(text, option=option), text, option=option)
    iso = text.strip()
    iso = iso[:-1] + "Z" if iso.endswith("z") else iso
    expected = (
        "a look-back (a number and a unit s/m/h/d/w, e.g. 90m) or an ISO-8601 time with Z or "
        f"an offset, e.g. {_EXAMPLE_ISO}"
    )
    try:
        when = datetime.fromisoformat(iso)
    except ValueError as exc:
        detail = "" if str(exc).startswith("Invalid isoformat") else f" ({exc})"
        raise ValueError(f"{option}: found {text!r}{detail}; expected {expected}") from None
    if when.tzinfo is None:  # 01:10 on an on-call laptop is not 01:10 UTC: never guess
        raise ValueError(
            f"{option}: found {text!r}, a time with no UTC offset; expected Z or an offset "
            f"(the report is in UTC), e.g. {_EXAMPLE_ISO} or 2026-01-31T03:10:00+02:00"
        )
    return when.timestamp()


def _on_calendar(epoch: float, text: str, *, option: str) -> float:
    """``epoch`` if it is a time the report can print; a look-back reaching before year 1 (or
    too large for a timestamp at all) is refused naming the option, not left to fail later."""
    try:
        datetime.fromtimestamp(epoch, UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(
            f"{option}: found {text!r}, a look-back reaching before year 1; expected a shorter "
            "one, e.g. 7d, or an ISO-8601 time such as " + _EXAMPLE_ISO
        ) from None
    return epoch


def _duration(text: str, *, option: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"{option}: found {text!r}; expected a number and a unit s/m/h/d/w, e.g. 7d"
        )
    seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds <= 0:  # a zero window reports nothing (and a zero --bucket has no width)
        raise ValueError(f"{option}: found {text!r}; expected a duration above zero, e.g. 7d")
    return seconds


def _iso_z(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def report_window(since: str, until: str | None, *, now: float) -> tuple[float, float | None]:
    """``report --since/--until`` as epoch seconds ``[since, until)``; until None is now.

    Each is a look-back (``7d``, ``24h``, ``90m``, ``2w``: that long before ``now``) or an
    ISO-8601 time with ``Z`` or an offset; a time with no offset is refused, not taken as UTC
    or local. ValueError (naming the option, the value and what was expected) for a bad value
    or an ``--until`` not after ``--since``.
    """
    start = _instant(since, option="--since", now=now)
    if until is None:
        return start, None
    end = _instant(until, option="--until", now=now)
    if end <= start:
        raise ValueError(
            f"--until: found {until!r} ({_iso_z(end)}), not after --since {since!r} "
            f"({_iso_z(start)}); expected an end later than the start"
        )
    return start, end


def parse_bucket(text: str) -> int:
    """``report --bucket`` (``1h``, ``15m``, ``1d``) as whole seconds, at least one.

    The help, this parser and its errors list the same units (s/m/h/d). A zero width is refused
    rather than stretched to 1 s: the operator asked for something else.
    """
    match = _WIDTH.fullmatch(text)
    if not match:
        raise ValueError(
            f"--bucket: found {text!r}; expected a number and a unit s/m/h/d, e.g. 1h, 15m, 1d"
        )
    seconds = round(float(match.group(1)) * _WIDTH_UNIT_S[match.group(2)])
    if seconds < 1:
        raise ValueError(f"--bucket: found {text!r}; expected a width of at least 1s, e.g. 1h")
    return seconds


@dataclass(slots=True)
class Bucket:
    """Counters for one hour or day. ``kind`` is primary, fallback, local, hard_stop, other or
    client_error.

    ``fallback`` is a cloud fallback; ``local`` is the local tier (also a fallback). A client
    error (a request the proxy refused before routing, or a client that hung up) is counted
    apart and is no intent: a client sending bad requests must not dilute the shares and so
    hide a hard-stop alert.
    """

    intents: int = 0
    primary: int = 0
    fallback: int = 0
    local: int = 0
    hard_stop: int = 0
    other: int = 0
    manual: int = 0
    client_errors: int = 0
    sessions: set[str] = field(default_factory=set)
    hard_stop_sessions: set[str] = field(default_factory=set)
    #: Intents with no session id (the proxy path), each a session of its own for the share.
    sessionless: int = 0
    sessionless_hard_stop: int = 0

    def add(self, kind: str, session: object) -> None:
        """Count one intent's outcome (and its session, when known)."""
        if kind == "client_error":
            self.client_errors += 1
            return
        self.intents += 1
        if kind == "primary":
            self.primary += 1
        elif kind == "fallback":
            self.fallback += 1
        elif kind == "local":
            self.local += 1
        elif kind == "hard_stop":
            self.hard_stop += 1
        else:
            self.other += 1
        if isinstance(session, str) and session:
            self.sessions.add(session)
            if kind == "hard_stop":
                self.hard_stop_sessions.add(session)
        else:
            self.sessionless += 1
            self.sessionless_hard_stop += kind == "hard_stop"

    def merge(self, other: Bucket) -> None:
        """Add another bucket's counts into this one."""
        self.intents += other.intents
        self.primary += other.primary
        self.fallback += other.fallback
        self.local += other.local
        self.hard_stop += other.hard_stop
        self.other += other.other
        self.manual += other.manual
        self.client_errors += other.client_errors
        self.sessions |= other.sessions
        self.hard_stop_sessions |= other.hard_stop_sessions
        self.sessionless += other.sessionless
        self.sessionless_hard_stop += other.sessionless_hard_stop


def share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def bucket_json(start: str, bucket: Bucket) -> dict[str, Any]:
    """The bucket as a JSON row; shares are fractions of intents (or of sessions), which
    exclude ``client_errors``."""
    return {
        "start": start,
        "intents": bucket.intents,
        "primary": bucket.primary,
        "fallback": bucket.fallback,
        "local": bucket.local,
        "hard_stop": bucket.hard_stop,
        "other": bucket.other,
        "fallback_share": share(bucket.fallback + bucket.local, bucket.intents),
        "cloud_fallback_share": share(bucket.fallback, bucket.intents),
        "local_share": share(bucket.local, bucket.intents),
        "hard_stop_share": share(bucket.hard_stop, bucket.intents),
        "sessions": len(bucket.sessions),
        "hard_stop_sessions": len(bucket.hard_stop_sessions),
        # Sessions that hit a hard stop; an intent with no session id counts as one of its own,
        # so hard stops on the proxy path are not hidden by plugin lines in the same hour.
        "session_hard_stop_share": share(
            len(bucket.hard_stop_sessions) + bucket.sessionless_hard_stop,
            len(bucket.sessions) + bucket.sessionless,
        ),
        "manual_interventions": bucket.manual,
        "client_errors": bucket.client_errors,
    }
