"""A key repeated inside an $included file: the warning names that file and the key's path in
it, besides where the key lands in the merged document."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from openclaw_failover.config import LoadResult
from tests.fixtures.config import base_standalone

Load = Callable[..., LoadResult]


def _duplicate(result: LoadResult) -> list[tuple[str, str]]:
    return [(p.path, p.found) for p in result.problems if p.rule == "file.duplicate-key"]


def test_duplicate_in_an_include_names_the_file_and_its_path(
    write_config: Callable[..., Path], load_doc: Load
) -> None:
    write_config("{ proxy: { host: '127.0.0.1', port: 8787, port: 8788 } }", name="part.json5")
    doc = base_standalone()
    doc["failover"] = {"$include": "./part.json5"}
    ((path, found),) = _duplicate(load_doc(json.dumps(doc)))
    assert path == "failover.proxy.port"
    assert "part.json5" in found
    assert "at proxy.port" in found


def test_nested_include_names_the_innermost_file(
    write_config: Callable[..., Path], load_doc: Load
) -> None:
    folder = write_config("{ retries: { $include: './sub/retries.json5' } }", name="mid.json5")
    (folder.parent / "sub").mkdir()
    (folder.parent / "sub" / "retries.json5").write_text(
        '{ "maxAttemptsPerKey": 2, "maxAttemptsPerKey": 3 }'
    )
    doc = base_standalone()
    doc["failover"] = {"$include": "./mid.json5"}
    ((path, found),) = _duplicate(load_doc(json.dumps(doc)))
    assert path == "failover.retries.maxAttemptsPerKey"
    assert "sub/retries.json5" in found
    assert "mid.json5" not in found
    assert "at maxAttemptsPerKey" in found


def test_duplicate_in_the_main_file_names_no_include(load_doc: Load) -> None:
    doc = json.dumps(base_standalone())[:-1] + ', "failover": {"probeIntervalS": 0}}'
    ((path, found),) = _duplicate(load_doc(doc))
    assert path == "failover"
    assert ".json5" not in found
