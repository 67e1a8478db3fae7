"""The request's mode picks its tier budget: batch requests get batchFirstTokenS.

The deadlines run on the engine's FakeClock: the test checks which deadline the engine waits
on and advances the clock to it, so nothing sleeps."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import Deadlines
from tests.fixtures.engine import Spec, advance_to_deadline, eventually, make_engine, make_table

BODY = {"messages": [{"role": "user", "content": "hi"}]}
SPECS = [Spec("p", "m1"), Spec("q", "m2")]


async def _hang(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()  # never set: only the deadline ends this
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("mode", "interactive_s", "batch_s", "budget_s"),
    [("batch", 45.0, 90.0, 90.0), ("interactive", 45.0, 90.0, 45.0)],
)
async def test_mode_selects_its_first_token_budget(
    mode: str, interactive_s: float, batch_s: float, budget_s: float
) -> None:
    """A silent primary is left at the budget of the request's own mode, never the other's:
    the engine waits on exactly that deadline, and the fallback answers there."""
    deadlines = Deadlines(interactive_first_token_s=interactive_s, batch_first_token_s=batch_s)
    rig = make_engine(make_table(SPECS, deadlines=deadlines))
    rig.upstream.set(_hang, model="m1")  # type: ignore[arg-type]
    request = ChatRequest(body=BODY, mode=mode)  # type: ignore[arg-type]
    task = asyncio.create_task(rig.engine.complete(request))
    await eventually(lambda: rig.upstream.models_called() == ["m1"])
    await advance_to_deadline(rig.clock, budget_s, task=task)
    meta, _ = await asyncio.wait_for(task, 5)  # a guard against a hang, not a timing
    assert (meta.provider, meta.model, meta.downgraded) == ("q", "m2", True)
    assert rig.clock.monotonic() == budget_s
    (first, *_) = rig.audit.events("attempt")
    assert (first.model, first.reason) == ("m1", "timeout")
