"""Where one healthy request's engine work goes, counted instead of timed: the Python bytecodes
each function executes per request (8 models x 4 keys, memory store, the prebuilt transport of
``engine_overhead.py``). Run:

    .venv/bin/python benchmarks/engine_opcodes.py [--requests N] [--top K]

A count does not depend on how busy the machine is, so two commits can be compared on a shared
machine where timings drift by tens of percent within an hour. It is not a time: an opcode that
allocates, hashes or calls into C costs more than one that moves a local. ``engine_overhead.py``
gives the time; this says which functions the time is spread over.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from engine_overhead import PrebuiltTransport, QueueAudit, table

from openclaw_failover._engine import FailoverEngine
from openclaw_failover._exchange import ChatRequest
from openclaw_failover.stores.memory import MemoryStateStore

WARM_UP = 200


def _label(frame: FrameType) -> str:
    code = frame.f_code
    return f"{Path(code.co_filename).name}:{code.co_name}"


class OpcodeCounter:
    """A ``sys.settrace`` tracer that counts executed opcodes per function."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        label = _label(frame)
        counts = self.counts

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts[label] += 1
            return local

        return local


async def count(requests: int) -> Counter[str]:
    """Opcodes per function over ``requests`` healthy 8x4 requests, after a warm-up."""
    engine = FailoverEngine(
        table(8, 4),
        transports={"bench": PrebuiltTransport()},
        store=MemoryStateStore(),
        audit=QueueAudit(),
    )
    request = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})

    async def one() -> None:
        answer = await engine.open(request)
        async for _chunk in answer:
            pass
        await answer.aclose()

    for _ in range(WARM_UP):
        await one()
    counter = OpcodeCounter()
    sys.settrace(counter)
    try:
        for _ in range(requests):
            await one()
    finally:
        sys.settrace(None)
    return counter.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    counts = asyncio.run(count(args.requests))
    total = sum(counts.values()) / args.requests
    print(f"opcodes per healthy 8x4 request: {total:.0f} (mean of {args.requests} requests)")
    print(" per req  share  function")
    for label, n in counts.most_common(args.top):
        per = n / args.requests
        print(f"{per:8.1f} {100 * per / total:5.1f}%  {label}")


if __name__ == "__main__":
    main()
