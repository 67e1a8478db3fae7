"""The request's mode picks its tier budget: batch requests get batchFirstTokenS.

The deadlines run on the engine's FakeClock: the test checks which deadline the engine waits
on and advances the clock to it, so nothing sleeps."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from openclaw_failover._errors import AllCandidatesFailed
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import Deadlines, Tier
from openclaw_failover._ordering import model_key
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


async def test_the_intent_budget_running_out_cools_nothing() -> None:
    """Primary and fallback stay silent to their 45 s deadlines (intentBudgetS 150), so the
    local tier gets only the 60 s left of the budget, not its own 120 s. When that cut-short
    deadline strikes, the request stops (a hard stop), but the local model is not cooled as
    'timeout': its own deadline was never reached, so the next request may still use it."""
    specs = [*SPECS, Spec("l", "local", keys=(), tier=Tier.LOCAL)]
    table = make_table(specs)
    rig = make_engine(table)
    for model in ("m1", "m2", "local"):
        rig.upstream.set(_hang, model=model)  # type: ignore[arg-type]
    task = asyncio.create_task(rig.engine.complete(ChatRequest(body=BODY)))
    for called, at in ((["m1"], 45), (["m1", "m2"], 90), (["m1", "m2", "local"], 150)):
        await eventually(lambda called=called: rig.upstream.models_called() == called)
        await advance_to_deadline(rig.clock, at, task=task)
    with pytest.raises(AllCandidatesFailed):
        await asyncio.wait_for(task, 5)  # a guard against a hang, not a timing
    local = rig.store._data.get(model_key(table.route("auto").candidates[2]))
    assert local is None or local.cooldown_until == 0.0, local
    last = rig.audit.events("attempt")[-1]
    assert (last.model, last.reason, last.failure_kind) == ("local", "timeout", "IntentBudgetSpent")
    assert [r.model for r in rig.audit.events("cooldown_set")] == ["m1", "m2"]
