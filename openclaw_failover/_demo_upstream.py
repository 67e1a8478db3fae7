"""The demo's simulated OpenAI-compatible providers and their failure script over time.

One small ASGI app per provider on 127.0.0.1. What it does for a request depends on the demo's
progress (0..1) and the key the request carries: answer, a status with ``Retry-After``, or hang
(so the engine's first-token deadline fires). No network beyond loopback, no real keys.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["PHASES", "Behaviour", "demo_behaviour", "phase_at", "progress_clock", "upstream_app"]

#: (start fraction, label) of the story the demo tells.
PHASES = (
    (0.0, "all healthy: the primary answers"),
    (0.2, "primary key 1 gets a 429 burst: rotate to key 2"),
    (0.3, "both primary keys rate-limited: fall back to the second provider"),
    (0.45, "primary outage (503s and silent hangs): second provider carries traffic"),
    (0.55, "second provider rate-limited too: the local tier answers (tools off)"),
    (0.62, "local tier busy as well: hard stops, told at once"),
    (0.68, "second provider back"),
    (0.75, "primary recovered: traffic returns to it"),
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What one request gets: ``ok``, ``status`` (with Retry-After) or ``hang``."""

    action: str
    status: int = 200
    retry_after_s: int = 0


OK = Behaviour("ok")


def phase_at(progress: float, *, simulated_local: bool = True) -> str:
    """The label of the phase the demo is in (the real local model is never made to fail)."""
    label = PHASES[0][1]
    for start, text in PHASES:
        if progress >= start:
            label = text
    if not simulated_local and label == PHASES[5][1]:
        return "second provider still limited: the real local model keeps answering"
    return label


def demo_behaviour(provider: str, key: str, progress: float, roll: float) -> Behaviour:
    """The failure script: ``roll`` is a uniform random number for the mixed outage."""
    if provider == "cloud-a":
        if 0.45 <= progress < 0.75:
            return Behaviour("hang") if roll < 0.3 else Behaviour("status", 503)
        limited = 0.2 <= progress < 0.45 and (key.endswith("main") or progress >= 0.3)
        return Behaviour("status", 429, 10) if limited else OK
    if provider == "cloud-b" and 0.55 <= progress < 0.68:
        return Behaviour("status", 429, 20)
    if provider == "local" and 0.62 <= progress < 0.68:
        return Behaviour("status", 503)
    return OK


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-demo",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def _answer(model: str, stream: bool, text: str) -> Response:
    if not stream:
        return JSONResponse(
            {
                "id": "chatcmpl-demo",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
        )

    async def body() -> Any:
        yield _chunk(model, {"role": "assistant", "content": ""})
        for word in text.split(" "):
            yield _chunk(model, {"content": word + " "})
        yield _chunk(model, {}, "stop")
        yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


async def _hang(request: Request, *, limit_s: float = 60.0) -> None:
    """Say nothing until the caller gives up (the engine's deadline), or ``limit_s`` passes."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and not await request.is_disconnected():  # noqa: ASYNC110 - Starlette offers no disconnect event to await
        await asyncio.sleep(0.1)


def upstream_app(
    provider: str,
    model: str,
    *,
    progress: Callable[[], float],
    latency_s: float = 0.05,
    behaviour: Callable[[str, str, float, float], Behaviour] = demo_behaviour,
    rng: random.Random | None = None,
) -> Starlette:
    """An OpenAI-compatible fake for ``provider`` that follows ``behaviour`` over ``progress``."""
    roll = (rng or random.Random(7)).random  # noqa: S311 - a simulation, not security

    async def chat(request: Request) -> Response:
        body = await request.json()
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        what = behaviour(provider, key, progress(), roll())
        await asyncio.sleep(latency_s)
        if what.action == "hang":
            await _hang(request)
        if what.action == "status":
            headers = {"retry-after": str(what.retry_after_s)} if what.retry_after_s else {}
            message = "rate limited" if what.status == 429 else "upstream unavailable"
            return JSONResponse(
                {"error": {"message": message, "type": "server_error"}},
                status_code=what.status,
                headers=headers,
            )
        return _answer(model, bool(body.get("stream")), f"Hello from {provider} {model}.")

    async def models(_request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": model, "object": "model"}]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
    )


def progress_clock(duration_s: float, *, start: float | None = None) -> Callable[[], float]:
    """Progress through the demo, 0..1, from the wall clock."""
    began = time.monotonic() if start is None else start
    return lambda: min(1.0, (time.monotonic() - began) / duration_s)
