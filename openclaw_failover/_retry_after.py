"""Retry-After: how long a provider says to wait, from its headers (``retry-after-ms``,
``Retry-After`` in seconds or as an HTTP date), a 429 body's Google RetryInfo ``retryDelay``,
or, failing those, the reset time of the rate limit a 429 says is used up (OpenAI-style
``x-ratelimit-reset-*``, Anthropic ``anthropic-ratelimit-*-reset``).

Pure: no I/O, no clock (an HTTP date or an RFC 3339 reset needs ``now`` passed in), no logging.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from email.utils import mktime_tz, parsedate_to_datetime

#: UTC, the zone of every HTTP date (taken from email.utils: the core imports no datetime).
_UTC = parsedate_to_datetime("Thu, 01 Jan 1970 00:00:00 +0000").tzinfo
_DELAY = re.compile(r"\s*(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")


def _delay(raw: str | None, *, unit_s: float) -> float | None:
    """A plain non-negative finite number of ``unit_s``, else None (absent).

    ``float()`` alone would take "nan", "inf", "-5" and "1_0": a provider sending those has
    said nothing usable, so the other header (or the schedule) decides.
    """
    if raw is None or not _DELAY.fullmatch(raw):
        return None
    value = float(raw) * unit_s
    return value if math.isfinite(value) else None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` in seconds or an HTTP date.

    ``retry-after-ms`` is the OpenAI SDK's header; an HTTP date needs ``now`` (epoch seconds).
    Returns None when absent or unreadable (NaN, infinite, negative): an unreadable
    ``retry-after-ms`` leaves a valid ``Retry-After`` in charge. Never negative (a date already
    past is 0).
    """
    from_ms = _delay(_header(headers, "retry-after-ms"), unit_s=0.001)
    if from_ms is not None:
        return from_ms
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    seconds = _delay(raw, unit_s=1.0)
    if seconds is not None or now is None:
        return seconds
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or asctime's zoneless form: an HTTP date is always GMT,
        when = when.replace(tzinfo=_UTC)  # never the local time ``timestamp()`` would assume
    return max(0.0, when.timestamp() - now)


#: Google's RetryInfo detail in a 429 body (Gemini sends it instead of a Retry-After header):
#: ``{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}``.
_RETRY_DELAY = re.compile(r'"retryDelay"\s*:\s*"([0-9]{1,9}(?:\.[0-9]{1,9})?)s"')


def _retry_delay(excerpt: str) -> float | None:
    """Seconds from a body's RetryInfo ``retryDelay``, else None."""
    found = _RETRY_DELAY.search(excerpt) if "retryDelay" in excerpt else None
    return float(found.group(1)) if found else None


#: Longest reset value read; anything longer is no duration or timestamp a provider sends.
_RESET_MAX_CHARS = 64
#: OpenAI's ``x-ratelimit-reset-*`` (also Groq's and others'): a Go duration such as "6m0s",
#: "20ms" or "1h2m3.5s". Every part needs its unit: a bare number could be seconds,
#: milliseconds or an epoch depending on the provider, so it is not read at all.
_GO_UNIT_S: Mapping[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
_GO_DURATION = re.compile(f"(?:{_GO_PART})+")
_GO_PARTS = re.compile(_GO_PART)
#: Anthropic's ``anthropic-ratelimit-*-reset``: an RFC 3339 timestamp, "2026-12-07T06:00:30Z".
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_OPENAI_LIMITS = ("requests", "tokens")
_ANTHROPIC_LIMITS = ("requests", "tokens", "input-tokens", "output-tokens")


def parse_ratelimit_reset(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds until the used-up rate limit resets, from the provider's reset headers.

    Only a limit whose remaining header says "0" counts (the one the 429 hit); of several, the
    longest wait. OpenAI-style resets are Go durations; Anthropic's are RFC 3339 timestamps,
    read only with ``now`` (epoch seconds), a reset already past being 0. None when no used-up
    limit has a readable reset: a value not exactly in its format is ignored, never guessed.
    """
    found = [
        _go_duration_s(_header(headers, f"x-ratelimit-reset-{limit}"))
        for limit in _OPENAI_LIMITS
        if _used_up(_header(headers, f"x-ratelimit-remaining-{limit}"))
    ]
    if now is not None:
        found += [
            _until_s(_header(headers, f"anthropic-ratelimit-{limit}-reset"), now=now)
            for limit in _ANTHROPIC_LIMITS
            if _used_up(_header(headers, f"anthropic-ratelimit-{limit}-remaining"))
        ]
    return max((seconds for seconds in found if seconds is not None), default=None)


def _used_up(remaining: str | None) -> bool:
    return remaining is not None and remaining.strip() == "0"


def _go_duration_s(raw: str | None) -> float | None:
    """Seconds in a Go duration with a unit on every part ("1m30s"), else None."""
    if raw is None or len(raw) > _RESET_MAX_CHARS:
        return None
    text = raw.strip()
    if not _GO_DURATION.fullmatch(text):
        return None
    seconds = sum(float(number) * _GO_UNIT_S[unit] for number, unit in _GO_PARTS.findall(text))
    return seconds if math.isfinite(seconds) else None


def _until_s(raw: str | None, *, now: float) -> float | None:
    """Seconds from ``now`` to an RFC 3339 timestamp (0 when past), else None."""
    if raw is None or len(raw) > _RESET_MAX_CHARS:
        return None
    found = _RFC3339.fullmatch(raw.strip())
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
    offset_s = _offset_s(found.group(8), found.group(9), found.group(10))
    if offset_s is None or not _valid_date(year, month, day):
        return None
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second
        return None
    whole_s = mktime_tz((year, month, day, hour, minute, second, 0, 1, -1, offset_s))
    fraction_s = float(found.group(7) or 0.0)
    return max(0.0, whole_s + fraction_s - now)


def _offset_s(sign: str | None, hours: str | None, minutes: str | None) -> int | None:
    """The zone's offset east of UTC in seconds (0 for "Z"), None when out of range."""
    if sign is None or hours is None or minutes is None:
        return 0
    if int(hours) > 23 or int(minutes) > 59:
        return None
    offset_s = int(hours) * 3600 + int(minutes) * 60
    return -offset_s if sign == "-" else offset_s


def _valid_date(year: int, month: int, day: int) -> bool:
    if year < 1 or not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _MONTH_DAYS[month - 1] + (1 if leap and month == 2 else 0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, found in headers.items():
        if key.lower() == name:
            return found
    return None
