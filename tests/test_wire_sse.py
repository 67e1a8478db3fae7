"""The bytes-level SSE framer and JSON parser the OpenAI adapter uses, held to the str-level
reference (``body_lines`` + ``sse_events``, ``json``) on every split of each body."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_failover._ports import MalformedEvent
from openclaw_failover.providers._framing import SseData, body_lines, sse_events
from openclaw_failover.providers._wire import parse_json_bytes, parse_json_object

BODIES = [
    b'data: {"a":1}\n\ndata: [DONE]\n\n',
    b'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\n',
    b"data: one\rdata: two\r\r",
    b"data: first\ndata: second\n\n",
    b": a comment\nevent: ping\nid: 7\nretry: 10\ndata: x\n\n",
    b"data:no-space\n\ndata:  two spaces\n\n",
    b"data\n\ndata:\n\n",
    b"dataX: ignored\ndata: kept\n\n",
    b"data: no blank line at the end",
    b"data: ends with cr\r",
    b"\n\n\ndata: after blanks\n\n\n",
    b"event: only a name\n\n",
    "data: é ü 漢字\n\n".encode(),
    b'\xef\xbb\xbfdata: {"after":"a byte order mark"}\r\n\r\n',
]


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _reference(parts: list[bytes]) -> list[bytes]:
    return [event.data.encode() async for event in sse_events(body_lines(_chunks(parts)))]


def _framed(parts: list[bytes]) -> list[bytes]:
    framer = SseData()
    out: list[bytes] = []
    for part in parts:
        out += framer.feed(part)
    return out + framer.end()


@pytest.mark.parametrize("body", BODIES)
async def test_every_two_way_split_frames_like_the_reference(body: bytes) -> None:
    """Split anywhere (a CRLF or a UTF-8 character across two chunks included), the framer
    gives the events, in order, that the str-level reference gives for the whole body."""
    whole = await _reference([body])
    for cut in range(len(body) + 1):
        parts = [body[:cut], body[cut:]]
        assert _framed(parts) == whole, f"split at {cut}"


@given(
    st.lists(
        st.sampled_from([b"data: a", b"data:b", b"data", b": c", b"event: e", b"", b"id: 1"]),
        max_size=12,
    ),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.lists(st.integers(min_value=0, max_value=200), max_size=4),
)
async def test_random_bodies_frame_like_the_reference(
    lines: list[bytes], end: bytes, cuts: list[int]
) -> None:
    """Random lines, line ends and chunk boundaries: the same events as the reference."""
    body = end.join(lines)
    points = sorted({min(c, len(body)) for c in cuts})
    parts = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    assert _framed(parts) == await _reference([body])


@pytest.mark.parametrize(
    "data",
    [
        b'{"choices":[{"delta":{"content":"hi"}}]}',
        b'  {"a": 1}  ',
        b'{"n": NaN}',
        b'{"max": 18446744073709551615, "min": -9223372036854775808, "f": 1.5e308}',
        b'{"id": "chatcmpl-12345678901234567890"}',
        b'{"s": "\\ud800"}',
        b'{"bad": "\xff"}',
        b"[1, 2]",
        b"not json",
        b'"a string"',
        b"{",
    ],
)
def test_json_bytes_parse_like_the_reference(data: bytes) -> None:
    """orjson first, the stdlib where orjson refuses: the same object or malformed event."""
    fast = parse_json_bytes(data)
    slow = parse_json_object(data.decode("utf-8", "replace"))
    if isinstance(slow, MalformedEvent):
        assert isinstance(fast, MalformedEvent)
        assert fast.excerpt == slow.excerpt
    else:
        assert fast == slow


def test_an_integer_past_64_bits_reads_as_a_float_that_orjson_can_write_back() -> None:
    """The one kept difference from ``json``: a float, so the answer can still be written."""
    fast = parse_json_bytes(b'{"big": 123456789012345678901234567890}')
    assert isinstance(fast, dict)
    assert fast["big"] == pytest.approx(1.2345678901234568e29)
    assert orjson.loads(orjson.dumps(fast)) == fast


@pytest.mark.parametrize("cut", [0, 1, 2, 3, 4])
async def test_a_byte_order_mark_opening_the_stream_is_dropped(cut: int) -> None:
    """A UTF-8 byte order mark before the first field (WHATWG: skipped), even split across
    reads, leaves the first event intact in the framer and the reference."""
    body = b'\xef\xbb\xbfdata: {"a":1}\n\n'
    assert _framed([body[:cut], body[cut:]]) == [b'{"a":1}']
    assert await _reference([body]) == [b'{"a":1}']
