"""The request's mode picks its tier budget: batch requests get batchFirstTokenS."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import Deadlines
from tests.fixtures.engine import Spec, make_engine, make_table

BODY = {"messages": [{"role": "user", "content": "hi"}]}
SPECS = [Spec("p", "m1"), Spec("q", "m2")]


async def _hang(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(30)
    raise AssertionError("the mode's first-token deadline should have fired")


@pytest.mark.parametrize(
    ("mode", "interactive_s", "batch_s"),
    [("batch", 30.0, 0.2), ("interactive", 0.2, 30.0)],
)
async def test_mode_selects_its_first_token_budget(
    mode: str, interactive_s: float, batch_s: float
) -> None:
    """A silent primary is left at the short budget of the request's own mode, never the other's
    30 s one: the fallback answers (a wrong pick would run into the 5 s guard)."""
    deadlines = Deadlines(interactive_first_token_s=interactive_s, batch_first_token_s=batch_s)
    rig = make_engine(make_table(SPECS, deadlines=deadlines))
    rig.upstream.set(_hang, model="m1")  # type: ignore[arg-type]
    request = ChatRequest(body=BODY, mode=mode)  # type: ignore[arg-type]
    meta, _ = await asyncio.wait_for(rig.engine.complete(request), 5)
    assert (meta.provider, meta.model, meta.downgraded) == ("q", "m2", True)
    (first, *_) = rig.audit.events("attempt")
    assert (first.model, first.reason) == ("m1", "timeout")
