"""Fixes from the second review of the session's changes (a427b69..): each test names the
behaviour that was wrong."""

from __future__ import annotations

import json5
import pytest

from openclaw_failover.config._duplicates import duplicate_keys
from openclaw_failover.config._json5_scan import repeated_keys


@pytest.mark.parametrize(
    "tail", ["// end of config\n", "// end", "/* generated */", "\n/* a */ // b\n", " \u2028"]
)
def test_a_comment_after_the_root_does_not_hide_a_repeated_key(tail: str) -> None:
    """A JSON5 file ending in a comment is still scanned: the scan gave up on the comment
    (the hooked parse it replaced did not), so its repeated keys went unreported."""
    text = "{ mode: 1, mode: 2, x: { a: 1, a: 2 } }" + tail
    json5.loads(text)
    assert repeated_keys(text) == [((), "mode"), (("x",), "a")]
    assert [p.path for p in duplicate_keys(text, base="failover")] == [
        "failover.mode",
        "failover.x.a",
    ]


def test_a_second_value_after_a_comment_still_gives_up() -> None:
    """Only comments and spaces may follow the root: another value there is not JSON5."""
    assert repeated_keys("{ a: 1 } // c\n{ a: 2 }") is None
    assert repeated_keys("{ a: 1 } /* c */ x") is None
