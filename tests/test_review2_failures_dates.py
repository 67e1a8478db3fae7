"""Review 2 of the failure handling: a Retry-After HTTP date without a zone ("-0000", or
asctime's form) is GMT, never the host's local time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from openclaw_failover._classify import parse_retry_after
from openclaw_failover._exchange import ChatRequest
from tests.fixtures.engine import Spec, error, make_engine, make_table

REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
NOW = 1_800_000_000.0  # FakeClock's start


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time five hours behind UTC (POSIX TZ rule, no tz database)."""
    monkeypatch.setenv("TZ", "XST+05")
    time.tzset()
    assert time.timezone == 5 * 3600
    yield
    monkeypatch.undo()
    time.tzset()


def _date(epoch: float, zone: str) -> str:
    """An RFC 1123 date for ``epoch`` ending in ``zone`` ("GMT", "-0000"; "" for none)."""
    text = format_datetime(datetime.fromtimestamp(epoch, tz=UTC), usegmt=True)
    return text.removesuffix("GMT") + zone if zone else text.removesuffix(" GMT")


@pytest.mark.parametrize("zone", ["GMT", "-0000", "", "+0000"])
def test_http_date_is_read_as_utc_whatever_the_local_zone(far_from_utc: None, zone: str) -> None:
    """A date with "-0000" or no zone at all was read as local time: 18,000 s more on a host
    five hours behind UTC. An HTTP date is always GMT."""
    raw = _date(NOW + 90, zone)
    assert parse_retry_after({"retry-after": raw}, now=NOW) == pytest.approx(90.0)


def test_asctime_date_is_read_as_utc(far_from_utc: None) -> None:
    """RFC 9110's third date form (asctime) carries no zone; it is GMT too."""
    raw = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(NOW + 30))
    assert parse_retry_after({"retry-after": raw}, now=NOW) == pytest.approx(30.0)


async def test_short_zoneless_retry_after_date_is_waited_out_inline(far_from_utc: None) -> None:
    """A 429 whose Retry-After date ("-0000") is 1 s ahead: the one inline wait on the same key
    (it was read as 18,001 s: no wait, key A cooled for the 1 h cap, key B used)."""
    rig = make_engine(make_table([Spec("p", "m1", keys=("ka", "kb"))]))
    rig.upstream.script(error(429, retry_after=_date(NOW + 1, "-0000")), key="ka")
    meta, _ = await rig.engine.complete(REQ)
    assert rig.upstream.calls == [("ka", "m1"), ("ka", "m1")]
    assert meta.profile == "p:0"
    assert rig.clock.sleeps == [pytest.approx(1.0)]
