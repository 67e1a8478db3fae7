"""Retry-After: how long a provider says to wait, from its headers (``retry-after-ms``,
``Retry-After`` in seconds or as an HTTP date) or a 429 body's Google RetryInfo ``retryDelay``.

Pure: no I/O, no clock (an HTTP date needs ``now`` passed in), no logging.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

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


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, found in headers.items():
        if key.lower() == name:
            return found
    return None
