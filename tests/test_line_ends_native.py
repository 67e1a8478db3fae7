"""The Anthropic and Ollama adapters split a streamed body only at CR, LF or CRLF.

SSE and NDJSON end lines with those three alone. A JSON string may hold U+2028, U+2029, U+0085
or a form feed unescaped (text pasted from PDFs and web pages carries them), and a line
splitter that also breaks there (``str.splitlines``, httpx's ``aiter_lines``) cuts the event's
JSON in two: the answer fails as malformed. A CR-only stream is read line by line as it comes.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .test_adapters_review_anthropic import (
    MESSAGE_START,
    TEXT_START,
    _message_delta,
    _reply,
    _text_delta,
)
from .test_adapters_review_anthropic import _call as anthropic_call
from .test_providers_ollama import _call as ollama_call
from .test_providers_ollama import _reply as ollama_reply

TRICKY = "one\u2028two\u2029three\x85four\x0cfive\x1cend"


def _text(chunks: list[Any]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c.get("choices")
    )


def _anthropic_body(line_end: str) -> bytes:
    events: list[dict[str, Any]] = [
        MESSAGE_START,
        TEXT_START,
        _text_delta(TRICKY),
        {"type": "content_block_stop", "index": 0},
        _message_delta("end_turn"),
        {"type": "message_stop"},
    ]
    blank = line_end * 2
    text = "".join(
        f"event: {e['type']}{line_end}data: {json.dumps(e, ensure_ascii=False)}{blank}"
        for e in events
    )
    return text.encode()


async def _anthropic(body: bytes) -> list[Any]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async with _reply(handler, anthropic_call()) as reply:
        return [c async for c in reply.chunks()]


async def test_anthropic_text_with_unicode_line_separators_is_kept_whole() -> None:
    chunks = await _anthropic(_anthropic_body("\n"))
    assert _text(chunks) == TRICKY
    assert not [c for c in chunks if not isinstance(c, dict)]  # no malformed event


async def test_anthropic_cr_only_and_crlf_streams_read_the_same() -> None:
    assert _text(await _anthropic(_anthropic_body("\r"))) == TRICKY
    assert _text(await _anthropic(_anthropic_body("\r\n"))) == TRICKY


async def test_ollama_content_with_unicode_line_separators_is_kept_whole() -> None:
    lines = [
        {"model": "qwen3:8b", "message": {"role": "assistant", "content": TRICKY}, "done": False},
        {
            "model": "qwen3:8b",
            "message": {"role": "assistant", "content": ""},
            "done_reason": "stop",
            "done": True,
        },
    ]
    body = b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in lines)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, content=body)

    call = ollama_call({"messages": [{"role": "user", "content": "hi"}]})
    async with ollama_reply(handler, call) as reply:
        chunks = [c async for c in reply.chunks()]
    assert _text(chunks) == TRICKY
    assert not [c for c in chunks if not isinstance(c, dict)]
