"""The pure core imports no I/O, clock, logging, randomness or async machinery."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import openclaw_failover

CORE = ("_classify.py", "_retry_after.py", "_policy.py", "_ordering.py", "_toolpolicy.py")
ALLOWED = {
    "__future__",
    "collections.abc",
    "dataclasses",
    "types",
    "typing",
    "enum",
    "re",
    "json",
    "email.utils",
    "hashlib",
    "hmac",
    "operator",
    "math",
    "unicodedata",
}
#: Package modules the core may import: the domain values and seam types, and each other.
ALLOWED_LOCAL = {
    "_model",
    "_ports",
    "_policy",
    "_ordering",
    "_classify",
    "_retry_after",
    "_toolpolicy",
}
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval"}


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            found.add(prefix + (node.module or ""))
    return found


@pytest.mark.parametrize("name", CORE)
def test_core_module_imports_only_pure_modules(name: str) -> None:
    """Each core module imports only the standard library's pure parts and the domain values."""
    path = Path(openclaw_failover.__file__).parent / name
    tree = ast.parse(path.read_text())
    for module in _imports(tree):
        if module.startswith("."):
            assert module.lstrip(".") in ALLOWED_LOCAL, f"{name} imports {module}"
        else:
            assert module in ALLOWED, f"{name} imports {module}"


@pytest.mark.parametrize("name", CORE)
def test_core_module_calls_no_io_builtins(name: str) -> None:
    """No open/print/input/exec/eval, no ``await`` and no ``async def`` in the core."""
    path = Path(openclaw_failover.__file__).parent / name
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        assert not isinstance(node, ast.AsyncFunctionDef | ast.Await), f"{name} is async"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{name} calls {node.func.id}"


def test_ports_module_is_types_only() -> None:
    """The core imports ``_ports`` for value types; it must stay free of I/O imports."""
    tree = ast.parse((Path(openclaw_failover.__file__).parent / "_ports.py").read_text())
    assert not {"time", "asyncio", "logging", "os", "httpx"} & _imports(tree)
