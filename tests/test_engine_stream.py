"""Streaming over real loopback sockets (the fault-injecting fake server): first-token
deadlines, silence after an empty role chunk, cut streams, resets, malformed events.

Only the sockets are real. Deadlines run on the engine's FakeClock: a test waits for the
upstream to go silent (bytes over the socket), checks the engine is waiting on exactly the
deadline it expects, and advances the clock there. Nothing sleeps for a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from openclaw_failover._errors import StreamInterrupted
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import Deadlines
from openclaw_failover._upstream import has_token
from openclaw_failover.proxy import open_http_client
from openclaw_failover.testing import (
    Answer,
    CutStream,
    FakeOpenAIServer,
    HangBeforeHeaders,
    HangMidStream,
    MalformedEvent,
    Ok,
    Reset,
    SilentAfterPreamble,
    StreamError,
    no_done,
    slow_first_token,
    tool_reply,
)
from tests.fixtures.engine import (
    Rig,
    Spec,
    advance_to_deadline,
    eventually,
    make_engine,
    make_table,
)

FIRST_TOKEN_S = 45.0  # the design's interactive default; virtual seconds cost nothing
IDLE_S = 15.0
REQ = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]}, stream=True)


@pytest.fixture(params=["httpx", "proxy-pool"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """A real pooled client (no timeouts of its own: the engine's deadlines rule): httpx's
    own, and the proxy's, over which the OpenAI adapter writes and parses on the wire
    itself (every fault below is played against both)."""
    if request.param == "proxy-pool":
        async with open_http_client() as pool:
            yield pool
        return
    async with httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0)) as http:
        yield http


def _rig(fake: FakeOpenAIServer, client: httpx.AsyncClient, **deadlines: float) -> Rig:
    specs = [
        Spec("p", "fake-model", keys=("sk-a",), base_url=fake.url),
        Spec("f", "fake-model-2", keys=("sk-f",), base_url=fake.url),
    ]
    limits = {"interactive_first_token_s": FIRST_TOKEN_S, "stream_idle_s": IDLE_S, **deadlines}
    return make_engine(make_table(specs, deadlines=Deadlines(**limits)), client=client, tap=True)


async def _drain(answer: Any, into: list[dict[str, object]]) -> None:
    async for chunk in answer:
        into.append(chunk)


def _silent(rig: Rig, fake: FakeOpenAIServer, fault: object) -> Callable[[], bool]:
    """When the primary has gone silent: its request arrived (no headers yet), or the engine
    has read its headers and empty role chunk."""
    assert rig.tap is not None
    tap = rig.tap
    if isinstance(fault, HangBeforeHeaders):
        return lambda: fake.keys_seen() == ["sk-a"]
    return lambda: len(tap.chunks_seen()) == 1


@pytest.mark.parametrize(
    "fault",
    [HangBeforeHeaders(), SilentAfterPreamble(), slow_first_token(30.0)],
    ids=["silent", "role-chunk-then-silence", "slow-first-token"],
)
async def test_silent_primary_is_abandoned_at_the_first_token_deadline(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient, fault: object
) -> None:
    """Headers or an empty role chunk do not count: the fallback answers at the deadline."""
    fake_openai.always(fault, model="fake-model")  # type: ignore[arg-type]
    rig = _rig(fake_openai, client)
    assert rig.tap is not None
    task = asyncio.create_task(rig.engine.complete(REQ))
    await eventually(_silent(rig, fake_openai, fault))
    assert not any(has_token(c) for c in rig.tap.chunks_seen())
    await advance_to_deadline(rig.clock, FIRST_TOKEN_S, task=task)  # still waiting just before
    meta, body = await asyncio.wait_for(task, 5)  # a guard against a hang, not a timing
    assert meta.model == "fake-model-2"
    assert body["choices"][0]["message"]["content"]
    assert rig.clock.monotonic() == FIRST_TOKEN_S  # answered at exactly the deadline
    attempt = rig.audit.events("attempt")[0]
    assert (attempt.reason, attempt.failure_kind) == ("timeout", "FirstTokenTimeout")
    assert attempt.latency_ms == FIRST_TOKEN_S * 1000
    assert fake_openai.keys_seen() == ["sk-a", "sk-f"]  # a silent route is never retried


async def test_request_deadline_overrides_the_tier(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """``first_token_deadline_s`` on the request replaces the tier's budget."""
    fake_openai.always(HangBeforeHeaders(), model="fake-model")
    rig = _rig(fake_openai, client)
    request = ChatRequest(body=REQ.body, first_token_deadline_s=0.25)
    task = asyncio.create_task(rig.engine.complete(request))
    await eventually(lambda: fake_openai.keys_seen() == ["sk-a"])
    await advance_to_deadline(rig.clock, 0.25, task=task)
    meta, _ = await asyncio.wait_for(task, 5)
    assert meta.model == "fake-model-2"
    assert rig.clock.monotonic() == 0.25


async def test_cut_stream_ends_with_an_explicit_error(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """A stream cut after its first token raises StreamInterrupted, never a short success."""
    fake_openai.always(CutStream(after=2), model="fake-model")
    rig = _rig(fake_openai, client)
    answer = await rig.engine.open(REQ)
    seen: list[dict[str, object]] = []
    with pytest.raises(StreamInterrupted):
        await _drain(answer, seen)
    await answer.aclose()
    assert [has_token(c) for c in seen] == [False, True, True]  # role chunk, the 2 frames sent
    outcomes = rig.audit.events("outcome")
    assert [o.outcome for o in outcomes] == ["stream_error"]
    assert outcomes[0].reason == "server_error"
    assert rig.clock.monotonic() == 0.0  # a cut is seen at once, no deadline involved


async def test_stream_that_goes_quiet_is_ended_at_the_idle_deadline(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """Silence after the stream started ends it with StreamInterrupted (stream idle)."""
    fake_openai.always(HangMidStream(after=1), model="fake-model")
    rig = _rig(fake_openai, client)
    answer = await rig.engine.open(REQ)
    seen: list[dict[str, object]] = []
    drain = asyncio.create_task(_drain(answer, seen))
    await eventually(lambda: len(seen) == 2)  # the role chunk and the one frame sent
    await advance_to_deadline(rig.clock, IDLE_S, task=drain)
    with pytest.raises(StreamInterrupted):
        await asyncio.wait_for(drain, 5)
    await answer.aclose()
    assert rig.clock.monotonic() == IDLE_S
    [outcome] = rig.audit.events("outcome")
    assert (outcome.outcome, outcome.failure_kind) == ("stream_error", "StreamIdleTimeout")


async def test_a_whole_answer_cut_mid_body_fails_over(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """A non-streamed request is held until its answer is whole, so nothing has reached the
    caller when the upstream cuts the body: that is a failure like any before the first
    token (the model cooled, the walk goes on), not a 502 for the caller."""
    fake_openai.always(CutStream(after=2), model="fake-model")
    rig = _rig(fake_openai, client)
    meta, body = await rig.engine.complete(ChatRequest(body=REQ.body))
    assert (meta.model, meta.downgraded) == ("fake-model-2", True)
    assert body["choices"][0]["finish_reason"] == "stop"
    assert [o.outcome for o in rig.audit.events("outcome")] == ["answered_downgraded"]
    failed = [a for a in rig.audit.events("attempt") if a.reason is not None]
    assert {(a.model, a.reason) for a in failed} == {("fake-model", "server_error")}
    assert [c.model for c in rig.audit.events("cooldown_set")] == ["fake-model"]


async def test_a_whole_answer_that_goes_quiet_fails_over_at_the_idle_deadline(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """A non-streamed answer whose upstream goes quiet mid-body is given up at the stream-idle
    deadline and the next candidate answers the caller, who was sent nothing yet."""
    fake_openai.always(HangMidStream(after=1), model="fake-model")
    rig = _rig(fake_openai, client)
    task = asyncio.create_task(rig.engine.complete(ChatRequest(body=REQ.body)))
    assert rig.tap is not None
    tap = rig.tap
    await eventually(lambda: len(tap.chunks_seen()) >= 2)
    await advance_to_deadline(rig.clock, IDLE_S, task=task)
    meta, _ = await asyncio.wait_for(task, 5)  # a guard against a hang, not a timing
    assert meta.model == "fake-model-2"
    [outcome] = rig.audit.events("outcome")
    assert outcome.outcome == "answered_downgraded"


async def test_reset_before_headers_retries_once_then_moves(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """A connection reset before headers is a server fault: one retry, then the next model."""
    fake_openai.always(Reset(), model="fake-model")
    rig = _rig(fake_openai, client)
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "fake-model-2"
    assert fake_openai.keys_seen() == ["sk-a", "sk-a", "sk-f"]
    assert rig.clock.sleeps == [0.5]  # the jittered backoff before the one retry
    assert {a.reason for a in rig.audit.events("attempt") if a.reason} == {"server_error"}


async def test_malformed_event_is_skipped_and_audited(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """An unparseable event mid-stream is skipped (audited), and the answer completes."""
    fake_openai.always(MalformedEvent(after=1), model="fake-model")
    rig = _rig(fake_openai, client)
    meta, body = await rig.engine.complete(REQ)
    assert meta.model == "fake-model"
    assert body["choices"][0]["message"]["content"]
    assert [s.failure_kind for s in rig.audit.events("skip")] == ["MalformedEvent"]
    assert [o.outcome for o in rig.audit.events("outcome")] == ["answered"]


async def test_stream_without_done_finishes_cleanly(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """A complete stream closed without ``data: [DONE]`` is a clean answer."""
    fake_openai.always(no_done("all here"), model="fake-model")
    rig = _rig(fake_openai, client)
    meta, body = await rig.engine.complete(REQ)
    assert body["choices"][0]["message"]["content"] == "all here"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert meta.model == "fake-model"


async def test_in_stream_error_before_first_token_fails_over(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """An error event in a 200 stream before any token is a failure like any other."""
    fake_openai.always(StreamError(after=0, status=500), model="fake-model")
    rig = _rig(fake_openai, client)
    meta, _ = await rig.engine.complete(REQ)
    assert meta.model == "fake-model-2"


async def test_tool_calls_are_merged_in_the_whole_answer(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """Tool-call deltas become one complete tool call; usage and model are kept."""
    fake_openai.always(tool_reply("read", {"path": "a.txt"}, call_id="call_7"), model="fake-model")
    rig = _rig(fake_openai, client)
    meta, body = await rig.engine.complete(REQ)
    message = body["choices"][0]["message"]
    [call] = message["tool_calls"]
    assert (call["id"], call["type"], call["function"]["name"]) == ("call_7", "function", "read")
    assert json.loads(call["function"]["arguments"]) == {"path": "a.txt"}
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["model"] == meta.model == "fake-model"
    assert body["usage"]["prompt_tokens"] >= 1


async def test_request_goes_out_streamed_with_usage(
    fake_openai: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """The transport always asks for a stream with usage, whatever the client asked."""
    fake_openai.always(Ok(Answer(text="x")), model="fake-model")
    rig = _rig(fake_openai, client)
    await rig.engine.complete(ChatRequest(body={"messages": [], "stream": False}))
    sent = fake_openai.chat_requests[0].json
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["model"] == "fake-model"
