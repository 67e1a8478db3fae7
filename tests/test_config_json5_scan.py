"""The token scan that finds keys repeated within one object of a JSON5 (or JSON) text.

Its oracle is a generated document: a tree of objects written as lists of pairs (so a key may
repeat), rendered in the many spellings JSON5 allows. The repeats the tree holds are the answer.
"""

from __future__ import annotations

import json
from typing import Any

import json5
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_failover.config._duplicates import MAX_JSON5_CHECK_BYTES, duplicate_keys
from openclaw_failover.config._json5_scan import repeated_keys


class Obj(list[tuple[str, Any]]):
    """An object as written: its pairs in order, repeats kept."""


KEYS = st.sampled_from(["a", "b", "$c", "_d", "x y", "}{", "q'\"", "é", "a\\b", "k//"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(["", "}", "]", "{", ",", ":", "//", "/*", "a\nb", "'\"", "\\"]),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(KEYS, inner), max_size=5).map(Obj),
    ),
    max_leaves=25,
)
DOCS = st.lists(st.tuples(KEYS, TREES), max_size=6).map(Obj)


def expected(tree: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every later copy of a key in one object, with the object's path, in text order."""
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(tree, Obj):
        seen: set[str] = set()
        for key, value in tree:
            if key in seen:
                out.append((path, key))
            seen.add(key)
            out += expected(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            out += expected(value, (*path, index))
    return out


def _key(key: str, style: int) -> str:
    if style == 0 and key.replace("$", "").replace("_", "").isalpha():
        return key  # an identifier
    if style == 1:
        return "'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if style == 2:  # every character escaped
        return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'
    return json.dumps(key)


def render(tree: Any, draw: Any) -> str:
    """JSON5 text for ``tree``, each choice of spelling drawn."""
    gap = draw(st.sampled_from(["", " ", "\n  ", " // c }\n", " /* ] { */ ", "\u2028", "\t"]))
    if isinstance(tree, Obj):
        items = [f"{_key(k, draw(st.integers(0, 3)))}{gap}:{gap}{render(v, draw)}" for k, v in tree]
        trailing = "," if items and draw(st.booleans()) else ""
        return "{" + gap + ("," + gap).join(items) + trailing + gap + "}"
    if isinstance(tree, list):
        items = [render(v, draw) for v in tree]
        trailing = "," if items and draw(st.booleans()) else ""
        return "[" + gap + ("," + gap).join(items) + trailing + "]"
    if isinstance(tree, str) and draw(st.booleans()):
        return "'" + tree.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    return json.dumps(tree)


@settings(max_examples=300, deadline=None)
@given(DOCS, st.data())
def test_the_scan_finds_exactly_the_repeats_the_document_holds(doc: Obj, data: Any) -> None:
    text = render(doc, data.draw)
    json5.loads(text)  # the oracle's own check: the text is JSON5
    assert repeated_keys(text) == expected(doc)


def test_braces_quotes_and_comments_inside_strings_are_not_structure() -> None:
    text = """// { a: 1, a: 2 }
    { s: "}{ \\" ,a:", 'q': '\\' } ]', /* a: 3, a: 4 */ a: 1,
      n: +Infinity, h: 0x1F, m: -.5, c: "line\\
    continued", }"""
    json5.loads(text)
    assert repeated_keys(text) == []


def test_a_key_is_compared_after_its_escapes_are_decoded() -> None:
    text = '{ a: 1, "\\u0061": 2, \\u0062: 3, b: 4 }'
    assert json5.loads(text) == {"a": 2, "b": 4}
    assert repeated_keys(text) == [((), "a"), ((), "b")]


def test_a_repeat_inside_an_object_that_a_later_copy_replaced_is_still_found() -> None:
    """Both copies are in the JSON5 text, so both are worth a warning (the hooked parse of
    plain JSON loses the first object, and with it, its repeats: only ``a`` there)."""
    text = "{ a: { x: 1, x: 2 }, a: 3 }"
    assert [p.path for p in duplicate_keys(text, base="")] == ["a", "a.x"]
    plain = '{ "a": { "x": 1, "x": 2 }, "a": 3 }'
    assert [p.path for p in duplicate_keys(plain, base="")] == ["a"]


def test_a_key_given_three_times_is_one_warning() -> None:
    found = duplicate_keys("{ mode: 1, mode: 2, mode: 3 }", base="failover")
    assert [(p.path, p.severity) for p in found] == [("failover.mode", "warning")]


def test_text_the_scan_does_not_understand_gives_up_quietly() -> None:
    for text in ["{ a: 1, a: 2", "{ a: 1 } { a: 2 }", "{ a: 1 ]", "[ 1 }", "{ : 1 }", "/* open"]:
        assert repeated_keys(text) is None, text
        assert duplicate_keys(text, base="") == []


@pytest.mark.timeout(60)
def test_an_unfinished_string_after_a_long_run_of_spaces_gives_up_at_once() -> None:
    """Not a timing test: before the skip was possessive this input never finished (each
    space more doubled the regex's backtracking)."""
    for gap in (" " * 200, "\n// c\n" * 100, " /* c */" * 100):
        assert repeated_keys("{" + gap + '"unfinished') is None


def test_a_json5_file_of_some_size_is_scanned() -> None:
    """Files up to the cap are checked; the old cap (64 KB, the hooked pure-Python parser)
    let a repeat in a 100 KB file by."""
    filler = "// " + "x" * 200 + "\n"
    body = "{ a: 1, a: 2 }\n"
    text = filler * (100 * 1024 // len(filler)) + body
    assert len(text) <= MAX_JSON5_CHECK_BYTES
    assert [p.path for p in duplicate_keys(text, base="")] == ["a"]


def test_plain_json_is_checked_at_any_size_and_json5_up_to_the_cap() -> None:
    pad = " " * (MAX_JSON5_CHECK_BYTES + 1)
    assert [p.path for p in duplicate_keys(pad + '{"b": 1, "b": 2}', base="")] == ["b"]
    assert duplicate_keys(pad + "{ b: 1, b: 2 }", base="") == []
    nested = pad + '{"r": [{"k": {"z": 0, "z": 1}}]}'
    assert [p.path for p in duplicate_keys(nested, base="cfg")] == ["cfg.r[0].k.z"]
