"""What a config file that does not parse is told: where, what, and how to fix it.

The JSON5 parser says ``<string>:6 Unexpected end of input at column 1``; an operator needs the
file, the line and the column, and, for the common cases (an empty file, a brace left open), the
likely cause.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from ._json5_scan import only_comments

_POSITION = re.compile(r"<string>:(\d+) (.*) at column (\d+)", re.DOTALL)
_TYPES = {
    "list": "a list",
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
    "NoneType": "null",
}


class SyntaxFinding(NamedTuple):
    """The found and fix parts of a ``file.parse`` finding."""

    found: str
    fix: str


def syntax_finding(file: Path, text: str, error: ValueError) -> SyntaxFinding:
    """How to tell an operator that ``file`` (holding ``text``) failed with ``error``."""
    if only_comments(text):
        what = "is empty" if not text.strip() else "holds only comments"
        return SyntaxFinding(
            f"{file}: the file {what}, no settings",
            "write the settings as one JSON5 object: { ... }",
        )
    message = str(error)
    where = _POSITION.fullmatch(message)
    if where is None:
        return SyntaxFinding(f"{file}: {message}", "fix the syntax at the position shown")
    line, what, column = where.groups()
    found = f"{file}, line {line}, column {column}: {what[:1].lower()}{what[1:]}"
    if what == "Unexpected end of input":
        return SyntaxFinding(
            found + " (the text stops inside an object, a list or a string)",
            "close the object, list or string left open (a missing }, ] or quote)",
        )
    return SyntaxFinding(found, "fix the syntax at that line and column")


def type_described(value: object) -> str:
    """A JSON value's kind in words: "a list", "a string", "a number", ..."""
    name = type(value).__name__
    return _TYPES.get(name, name)
