"""Reading a config file: JSON5 text and OpenClaw's ``$include`` (arrays deep-merged in order).

Include rules (reference section 1): paths are relative to the including file; they must stay
inside the config's folder unless ``OPENCLAW_INCLUDE_ROOTS`` allows more; at most 10 levels;
each file at most 2 MB; sibling keys override included values. Objects and lists nest at most
``MAX_NESTING`` levels: every later step (schema, substitution, hashing) walks the tree
recursively, and a deeper file would end in a RecursionError instead of a finding.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5
import pyjson5

from .._errors import Problem
from ._duplicates import duplicate_keys
from ._jsonpath import join
from ._parse_errors import syntax_finding, type_described

#: Why a pipe or device is refused as a config file.
NOT_REGULAR = "not a regular file: a pipe or device is read more than once here; write it to a file"
MAX_INCLUDE_DEPTH = 10
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Far beyond any real config (OpenClaw's deepest keys are about 8 levels down).
MAX_NESTING = 64
INCLUDE_KEY = "$include"
_MISSING_FIX = (
    "check the path: --config if given, else $OPENCLAW_CONFIG_PATH, else openclaw.json in "
    "OpenClaw's state folder"
)
_MISSING_INCLUDE_FIX = "check the $include path; it is relative to the including file's folder"
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR})  # else the file is there but unreadable


def parse_text(text: str) -> Any:
    """Parse JSON5: plain JSON (what OpenClaw's writers produce) first, then the C parser.

    The pure-Python ``json5`` parser is the reference: it decides anything the fast ones
    reject, and its errors name the line and column.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return pyjson5.decode(text)
    except Exception:  # pyjson5 errors are not ValueErrors; json5 re-parses and explains
        return json5.loads(text)


def nesting_depth(value: Any) -> int:
    """How many objects/lists deep ``value`` goes (0 for a scalar); iterative, never recursing."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            return deepest  # enough to refuse; no need to walk the rest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` onto ``base``: objects merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else value
        return merged
    return over


@dataclass(slots=True)
class _Reader:
    roots: tuple[Path, ...]
    problems: list[Problem] = field(default_factory=list)

    def problem(self, rule: str, path: str, found: str, expected: str, fix: str) -> None:
        self.problems.append(Problem(rule, path, found, expected, fix))

    def _unreadable(self, file: Path, where: str, why: str) -> None:
        """The file is there but cannot be read as text: a folder, no permission, not UTF-8."""
        self.problem(
            "file.unreadable",
            where,
            f"{file} ({why})",
            "a readable UTF-8 text file",
            "point --config at the JSON5 file, check its permissions, or save it as UTF-8",
        )

    def too_deep(self, where: str, found: str) -> None:
        """Nesting beyond ``MAX_NESTING``: a finding, never a RecursionError."""
        self.problem(
            "file.too-deep",
            where,
            found,
            f"objects and lists nested at most {MAX_NESTING} levels deep",
            "flatten the structure (a config never needs this depth; check for a bad paste)",
        )

    def parse(
        self, file: Path, where: str, *, base: str = "", included: bool = False
    ) -> tuple[bool, Any]:
        """Read and decode ``file``; ``base`` is where its root lands in the merged document."""
        try:
            info = file.stat()
        except OSError as exc:
            if exc.errno in _ABSENT:
                self.problem(
                    "file.missing",
                    where,
                    f"{file} ({exc.strerror})",
                    "a readable file",
                    _MISSING_INCLUDE_FIX if included else _MISSING_FIX,
                )
            else:
                self._unreadable(file, where, exc.strerror or type(exc).__name__)
            return False, None
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
            # a FIFO without a writer blocks the read for good, a device (/dev/zero) never ends
            # it, and a pipe (--config <(...), /dev/stdin) is empty the second time: the config
            # is read again to mask its secrets and to notice edits
            self._unreadable(file, where, NOT_REGULAR)
            return False, None
        if info.st_size > MAX_FILE_BYTES:
            self.problem(
                "file.too-large",
                where,
                f"{file} of {info.st_size} bytes",
                f"at most {MAX_FILE_BYTES} bytes",
                "split it with $include",
            )
            return False, None
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self._unreadable(
                file, where, f"not UTF-8 text: byte {exc.start} is 0x{exc.object[exc.start]:02x}"
            )
            return False, None
        except OSError as exc:
            self._unreadable(file, where, exc.strerror or type(exc).__name__)
            return False, None
        return self._decode(file, text, where, base=base, included=included)

    def _shown(self, file: Path) -> str:
        """``file`` relative to the config's folder (where includes live), else as it is."""
        root = self.roots[0]
        return str(file.relative_to(root)) if file.is_relative_to(root) else str(file)

    def _decode(
        self, file: Path, text: str, where: str, *, base: str, included: bool
    ) -> tuple[bool, Any]:
        try:
            data = parse_text(text)
        except RecursionError:
            self.too_deep(where, f"{file}, nested too deep to parse")
            return False, None
        except ValueError as exc:
            found, fix = syntax_finding(file, text, exc)
            self.problem("file.parse", where, found, "valid JSON5", fix)
            return False, None
        if nesting_depth(data) > MAX_NESTING:
            self.too_deep(where, f"{file}, nested more than {MAX_NESTING} levels deep")
            return False, None
        source = self._shown(file) if included else None
        self.problems += duplicate_keys(text, base=base, source=source)
        return True, data

    def expand(self, value: Any, *, here: Path, path: str, depth: int) -> Any:
        if isinstance(value, list):
            return [
                self.expand(v, here=here, path=join(path, i), depth=depth)
                for i, v in enumerate(value)
            ]
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        if INCLUDE_KEY in value:
            out = self._included(value[INCLUDE_KEY], here=here, path=path, depth=depth)
        siblings = {
            k: self.expand(v, here=here, path=join(path, k), depth=depth)
            for k, v in value.items()
            if k != INCLUDE_KEY
        }
        if not isinstance(out, dict):
            return siblings or out
        return deep_merge(out, siblings)

    def _included(self, spec: Any, *, here: Path, path: str, depth: int) -> Any:
        where = join(path, INCLUDE_KEY)
        names = [spec] if isinstance(spec, str) else spec
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            self.problem(
                "include.invalid",
                where,
                type(spec).__name__,
                "a file name or a list of file names",
                'write "$include": "./part.json5"',
            )
            return {}
        if depth >= MAX_INCLUDE_DEPTH:
            self.problem(
                "include.depth",
                where,
                f"more than {MAX_INCLUDE_DEPTH} nested includes",
                f"at most {MAX_INCLUDE_DEPTH}",
                "flatten the includes (or break a cycle)",
            )
            return {}
        merged: Any = {}
        for name in names:
            loaded = self._one(name, here=here, path=path, depth=depth)
            merged = deep_merge(merged, loaded)
        return merged

    def _one(self, name: str, *, here: Path, path: str, depth: int) -> Any:
        where = join(path, INCLUDE_KEY)
        target = (here / name).resolve()
        if not any(target.is_relative_to(root) for root in self.roots):
            self.problem(
                "include.outside-root",
                where,
                f"{name!r} outside the config folder",
                "a file inside the config's folder",
                "move the file next to the config, or list its folder in OPENCLAW_INCLUDE_ROOTS",
            )
            return {}
        ok, data = self.parse(target, where, base=path, included=True)
        if not ok:
            return {}
        return self.expand(data, here=target.parent, path=path, depth=depth + 1)


def _include_roots(config: Path, environ: Mapping[str, str]) -> tuple[Path, ...]:
    extra = environ.get("OPENCLAW_INCLUDE_ROOTS", "")
    roots = [config.parent.resolve()]
    roots += [Path(p).expanduser().resolve() for p in extra.split(os.pathsep) if p.strip()]
    return tuple(roots)


def read_document(
    path: str | Path, *, environ: Mapping[str, str]
) -> tuple[dict[str, Any] | None, Sequence[Problem]]:
    """Read ``path`` as JSON5 with every ``$include`` expanded; None when it cannot be read."""
    file = Path(path).expanduser()
    reader = _Reader(roots=_include_roots(file.absolute(), environ))
    ok, data = reader.parse(file, "$")
    if not ok:
        return None, tuple(reader.problems)
    if not isinstance(data, dict):
        reader.problem(
            "file.not-object",
            "$",
            type_described(data),
            "an object at the root",
            "wrap the settings in { ... }",
        )
        return None, tuple(reader.problems)
    try:
        expanded = reader.expand(data, here=file.absolute().parent, path="", depth=0)
    except RecursionError:
        expanded = None
    if expanded is None or nesting_depth(expanded) > MAX_NESTING:
        reader.too_deep("$", f"{file} with its includes nested more than {MAX_NESTING} levels")
        return None, tuple(reader.problems)
    return expanded, tuple(reader.problems)
