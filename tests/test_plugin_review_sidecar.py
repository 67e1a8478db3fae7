"""The sidecar's wire protocol under lines the bridge should never send but a host may produce:
not UTF-8, nested past Python's recursion limit, replies JSON.parse would refuse."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from openclaw_failover._sidecar import Sidecar, serve_stdio
from tests.fixtures.plugin_host import make_plugin


async def served(data: bytes, sidecar: Sidecar | None = None) -> dict[Any, dict[str, Any]]:
    """The replies, by id, that ``serve_stdio`` writes for ``data`` on stdin, up to its EOF."""
    sidecar = sidecar or Sidecar.create(make_plugin()[0])
    reader = asyncio.StreamReader(limit=2**22)
    reader.feed_data(data)
    reader.feed_eof()
    lines: list[str] = []

    async def write(text: str) -> None:
        lines.append(text)

    await asyncio.wait_for(serve_stdio(sidecar, reader, write), 5)
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    return {r["id"]: r for r in map(json.loads, lines)}


async def test_a_line_that_is_not_utf8_gets_an_error_reply_under_its_id() -> None:
    """Invalid UTF-8 in a request is answered ok:false at once, under the id the line starts
    with, so the bridge fails safe without waiting for its timeout; the next line is served."""
    bad = b'{"id":7,"op":"hook","hook":"before_tool_call","event":{"toolName":"\xff\xfe"}}\n'
    replies = await served(bad + b'{"id":8,"op":"ping"}\n')
    assert replies[7]["ok"] is False
    assert "malformed" in replies[7]["error"]
    assert replies[8]["result"] == "pong"


async def test_params_nested_past_the_recursion_limit_get_an_error_reply() -> None:
    """A tool call whose params nest deeper than Python's JSON decoder recurses (a model can
    write that) is answered ok:false under its id instead of leaving the bridge waiting."""
    deep = "[" * 100_000 + "]" * 100_000
    line = f'{{"id":9,"op":"hook","hook":"before_tool_call","event":{{"params":{deep}}}}}\n'
    replies = await served(line.encode())
    assert replies[9]["ok"] is False
    assert "RecursionError" in replies[9]["error"]


async def test_a_line_without_a_readable_id_is_answered_with_id_null() -> None:
    """Garbage with no leading id still gets exactly one reply, with id null."""
    replies = await served(b"\xff\xfe not json\n")
    assert replies[None]["ok"] is False


async def test_a_reply_json_parse_would_refuse_becomes_an_error_reply() -> None:
    """A result holding NaN (JSON.parse refuses it, so the bridge would drop the line and wait)
    is sent as an ok:false reply under the request's id."""
    sidecar = Sidecar.create(make_plugin()[0])

    async def nan(tool_call_id: str, params: Any) -> Any:
        class Result:
            def to_json(self) -> dict[str, Any]:
                return {"value": float("nan")}

        return Result()

    tools = sidecar.host.tools
    tools["failover_status"] = replace(tools["failover_status"], execute=nan)
    replies = await served(b'{"id":3,"op":"tool","name":"failover_status"}\n', sidecar)
    assert replies[3]["ok"] is False
