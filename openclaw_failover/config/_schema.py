"""JSON-Schema validation (draft 2020-12) of the raw document, each violation as a Problem.

The schemas ship as package data (``openclaw_failover/data/schemas``, copied from the top-level
``schemas/``). A finding never quotes a string value that could be a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from .._errors import Problem
from ._jsonpath import join

SCHEMA_FILES = {
    "plugin": "plugin-config.schema.json",
    "standalone": "standalone.schema.json",
    "openclaw": "openclaw-checked.schema.json",
}
_QUOTABLE = frozenset({"enum", "const", "not"})  # values of a closed set: never a secret


def schema_dir() -> Path:
    """The installed schema folder, else the source checkout's top-level ``schemas/``."""
    shipped = Path(str(resources.files("openclaw_failover") / "data" / "schemas"))
    if (shipped / SCHEMA_FILES["plugin"]).is_file():
        return shipped
    source = Path(__file__).resolve().parents[2] / "schemas"
    if (source / SCHEMA_FILES["plugin"]).is_file():
        return source
    raise FileNotFoundError(f"schemas not found in {shipped} or {source}; reinstall the package")


@cache
def load_schema(name: str) -> Mapping[str, Any]:
    """One schema by its short name: plugin, standalone or openclaw."""
    text = (schema_dir() / SCHEMA_FILES[name]).read_text(encoding="utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> Draft202012Validator:
    plugin = load_schema("plugin")
    registry: Registry[Any] = Registry().with_resource(
        plugin["$id"], Resource.from_contents(plugin)
    )
    return Draft202012Validator(load_schema(kind), registry=registry)


def _path(error: ValidationError) -> str:
    return join("", *error.absolute_path) or "$"


def _article(noun: str) -> str:
    """The noun with the article its sound asks for: "an integer", "an object", "a string"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _describe(value: Any, validator: str) -> str:
    if isinstance(value, str):
        return (
            f"the string {value!r}" if validator in _QUOTABLE and len(value) <= 40 else "a string"
        )
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"the number {value}"
    return "an object" if isinstance(value, dict) else _article(type(value).__name__)


def _known_keys(error: ValidationError) -> list[str]:
    schema = error.schema
    props = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
    return sorted(props)


def _expected(error: ValidationError) -> str:
    v = str(error.validator)
    arg: Any = error.validator_value
    if v == "type":
        return _article(arg if isinstance(arg, str) else " or ".join(arg))
    if v == "required":
        have = error.instance if isinstance(error.instance, dict) else {}
        return "the field(s) " + ", ".join(k for k in arg if k not in have)
    if v == "additionalProperties":
        allowed = _known_keys(error)
        return "only known keys" + (f": {', '.join(allowed)}" if allowed else "")
    words = {
        "enum": lambda: "one of " + ", ".join(json.dumps(x) for x in arg),
        "not": lambda: f"anything but {json.dumps(arg)}",
        "const": lambda: f"the value {json.dumps(arg)}",
    }
    if v in words:
        return words[v]()
    return f"{v} {arg}" if isinstance(arg, int | float | str) else f"a value valid for {v}"


_SECRET_FIELDS = frozenset({"key", "apiKey", "token", "url"})


def _found(error: ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(_known_keys(error))
        extra = [k for k in error.instance if k not in known]
        return "unknown key(s) " + ", ".join(extra)
    if error.validator == "required":
        return "a missing field"
    last = error.absolute_path[-1] if error.absolute_path else ""
    if last in _SECRET_FIELDS:  # never echo what may be a key
        return "a value of type " + type(error.instance).__name__
    return _describe(error.instance, str(error.validator))


def _leaf(error: ValidationError) -> ValidationError:
    """The branch error that got furthest into the value (oneOf/anyOf say little on their own)."""
    while error.validator in {"oneOf", "anyOf"} and error.context:
        deepest = max(len(e.absolute_path) for e in error.context)
        error = best_match(e for e in error.context if len(e.absolute_path) == deepest) or error
    return error


def _problems(errors: Iterable[ValidationError], schema_file: str) -> list[Problem]:
    out = []
    for raw in errors:
        error = _leaf(raw)
        out.append(
            Problem(
                f"schema.{error.validator}",
                _path(error),
                _found(error),
                _expected(error),
                f"see the schema {schema_dir() / schema_file}",
            )
        )
    return out


def check_schema(doc: Mapping[str, Any], kind: str) -> list[Problem]:
    """Every schema violation in ``doc`` for ``kind`` (``openclaw`` or ``standalone``)."""
    errors = sorted(
        _validator(kind).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return _problems(errors, SCHEMA_FILES[kind])
