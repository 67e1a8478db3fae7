"""The Anthropic and Ollama fakes: their dialects render what our adapters and the official
SDK read, and their scripted faults reach the adapters as statuses, failures and events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import httpx
import pytest

from openclaw_failover._model import Candidate, Profile, Provider, Secret, Tier
from openclaw_failover._ports import MalformedEvent, TransportFailure, UpstreamCall
from openclaw_failover.providers._translate_anthropic_stream import (
    AnthropicStreamState,
    anthropic_event_chunks,
    message_chunks,
)
from openclaw_failover.providers._translate_ollama import OllamaStreamState, ollama_line_chunks
from openclaw_failover.providers.anthropic import AnthropicTransport
from openclaw_failover.providers.ollama import OllamaTransport
from openclaw_failover.testing import (
    Answer,
    CutStream,
    HangBeforeHeaders,
    HangMidStream,
    HttpError,
    Ok,
    Reset,
    SilentAfterPreamble,
    StreamError,
    ToolCall,
    empty,
    no_done,
    tool_reply,
)
from openclaw_failover.testing import MalformedEvent as MalformedFault
from openclaw_failover.testing._fake_anthropic import AnthropicDialect, FakeAnthropicServer
from openclaw_failover.testing._fake_ollama import FakeOllamaServer, OllamaDialect
from openclaw_failover.testing._fake_openai import FakeOpenAIServer

WEATHER = ToolCall("get_weather", {"location": "Paris", "unit": "celsius"}, "toolu_1")
ANSWER = Answer(text="Hello there", tool_calls=(WEATHER,), prompt_tokens=11, completion_tokens=7)
QUESTION = {"messages": [{"role": "user", "content": "hi"}]}


def _text(chunks: list[Any]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c["choices"]
    )


def _arguments(chunks: list[Any]) -> dict[int, str]:
    args: dict[int, str] = {}
    for c in chunks:
        if not isinstance(c, dict) or not c["choices"]:
            continue
        for call in c["choices"][0]["delta"].get("tool_calls", ()):
            args[call["index"]] = args.get(call["index"], "") + call["function"]["arguments"]
    return args


def _read_sse(data: bytes) -> list[dict[str, Any]]:
    state = AnthropicStreamState()
    chunks: list[dict[str, Any]] = []
    for block in data.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "data" in lines:
            chunks.extend(anthropic_event_chunks(state, lines["event"], json.loads(lines["data"])))
    return chunks


# ----------------------------------------------------------------------------- dialects


def test_anthropic_stream_plan_round_trips_text_tools_and_usage() -> None:
    """The dialect's SSE frames read back as the scripted text, tool call, finish and usage."""
    plan = AnthropicDialect().stream_plan(ANSWER, model="c-1", request={})
    chunks = _read_sse(b"".join((*plan.preamble, *plan.content, *plan.closing, plan.done)))
    assert _text(chunks) == "Hello there"
    assert json.loads(_arguments(chunks)[0]) == {"location": "Paris", "unit": "celsius"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def test_anthropic_whole_reply_round_trips() -> None:
    """The dialect's non-streamed message reads back as the same answer."""
    message = AnthropicDialect().whole_reply(ANSWER, model="c-1", request={})
    chunks = message_chunks(AnthropicStreamState(), message)
    assert _text(chunks) == "Hello there"
    assert json.loads(_arguments(chunks)[0])["location"] == "Paris"


def test_anthropic_error_bodies_follow_the_documented_shape() -> None:
    """Error bodies are ``{"type": "error", "error": {type, message}}`` with the status's type."""
    dialect = AnthropicDialect()
    body = dialect.error_body(529, model="", message=None, code=None)
    assert body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert (
        dialect.error_body(404, model="c-x", message=None, code=None)["error"]["message"]
        == "model: c-x"
    )


def test_ollama_stream_plan_round_trips_text_tools_and_usage() -> None:
    """The dialect's NDJSON reads back with text, a string-arguments tool call and usage."""
    plan = OllamaDialect().stream_plan(ANSWER, model="qwen3:8b", request={})
    state = OllamaStreamState()
    lines = [line for frame in (*plan.content, *plan.closing) for line in frame.splitlines()]
    chunks = [c for line in lines for c in ollama_line_chunks(state, json.loads(line))]
    assert _text(chunks) == "Hello there"
    assert json.loads(_arguments(chunks)[0]) == {"location": "Paris", "unit": "celsius"}
    assert chunks[-1]["usage"]["total_tokens"] == 18


def test_ollama_dialect_defaults() -> None:
    """Ollama streams unless told not to; 404 says "try pulling it first"; tags list names."""
    dialect = OllamaDialect()
    assert dialect.wants_stream({}) is True
    assert dialect.wants_stream({"stream": False}) is False
    assert (
        "try pulling it first"
        in dialect.error_body(404, model="x", message=None, code=None)["error"]
    )
    assert [m["name"] for m in dialect.model_list(["qwen3:8b"])["models"]] == ["qwen3:8b"]


# ----------------------------------------------------------------------------- servers


def _anthropic_call(url: str, key: str = "sk-ant-fake-1") -> UpstreamCall:
    provider = Provider(id="anthropic", api="anthropic-messages", base_url=url)
    profile = Profile(id="anthropic:0", provider="anthropic", secret=Secret(key), source="config")
    return UpstreamCall(provider, Candidate("anthropic", "claude-fake"), profile, QUESTION)


def _ollama_call(url: str) -> UpstreamCall:
    provider = Provider(id="ollama", api="ollama", base_url=url)
    return UpstreamCall(provider, Candidate("ollama", "qwen3:8b", Tier.LOCAL), None, QUESTION)


async def _drain(transport: Any, call: UpstreamCall) -> tuple[int, list[Any], str]:
    async with transport.send(call) as reply:
        if reply.status >= 400:
            return reply.status, [], await reply.error_excerpt()
        return reply.status, [c async for c in reply.chunks()], ""


async def test_fake_anthropic_server_serves_answers_errors_and_faults() -> None:
    """Over loopback: a tool answer, a 529, an in-stream overloaded_error, a malformed event,
    a cut stream and a reset reach AnthropicTransport as chunks, statuses and failures."""
    with FakeAnthropicServer() as fake:
        fake.script(
            Ok(ANSWER),
            HttpError(529),
            StreamError(after=1, status=529),
            MalformedFault(after=1),
            CutStream(after=1),
            Reset(),
        )
        async with httpx.AsyncClient(timeout=10) as client:
            transport = AnthropicTransport(client)
            call = _anthropic_call(fake.url)
            status, chunks, _ = await _drain(transport, call)
            assert (status, _text(chunks)) == (200, "Hello there")
            assert json.loads(_arguments(chunks)[0])["unit"] == "celsius"
            assert (await _drain(transport, call))[0] == 529
            with pytest.raises(TransportFailure, match="overloaded_error"):
                await _drain(transport, call)
            _, chunks, _ = await _drain(transport, call)
            assert any(isinstance(c, MalformedEvent) for c in chunks)
            assert _text(chunks) == "one two three four five six"
            with pytest.raises(TransportFailure):
                await _drain(transport, call)
            with pytest.raises(TransportFailure):
                await _drain(transport, call)
        assert fake.keys_seen()[0] == "sk-ant-fake-1"
        assert fake.chat_requests[0].headers["anthropic-version"] == "2023-06-01"


def test_official_anthropic_sdk_reads_the_fake() -> None:
    """The ``anthropic`` SDK streams text and a tool call from FakeAnthropicServer, and raises
    its own error classes for scripted 529 and 401 replies."""
    with FakeAnthropicServer() as fake:
        fake.script(Ok(ANSWER), Ok(ANSWER), HttpError(529), HttpError(401))
        with anthropic.Anthropic(api_key="sk-ant-fake", base_url=fake.url, max_retries=0) as client:
            request: dict[str, Any] = {
                "model": "claude-fake",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi"}],
            }
            with client.messages.stream(**request) as stream:
                final = stream.get_final_message()
            assert final.content[0].type == "text"
            assert final.content[0].text == "Hello there"
            assert final.content[1].type == "tool_use"
            assert final.content[1].input == {"location": "Paris", "unit": "celsius"}
            whole = client.messages.create(**request)
            assert whole.stop_reason == "tool_use"
            with pytest.raises(anthropic.APIStatusError) as overloaded:
                client.messages.create(**request)
            assert overloaded.value.status_code == 529
            with pytest.raises(anthropic.AuthenticationError):
                client.messages.create(**request)


async def test_fake_ollama_server_serves_tool_calls_404_and_tags() -> None:
    """Over loopback: a tool call comes back with string arguments, a missing model is a 404
    saying "try pulling it first", and /api/tags lists the pulled models."""
    with FakeOllamaServer(models=["qwen3:8b"]) as fake:
        fake.script(tool_reply("get_weather", {"location": "Paris"}), HttpError(404))
        async with httpx.AsyncClient(timeout=10) as client:
            transport = OllamaTransport(client)
            call = _ollama_call(fake.url)
            status, chunks, _ = await _drain(transport, call)
            assert status == 200
            assert json.loads(_arguments(chunks)[0]) == {"location": "Paris"}
            status, _, excerpt = await _drain(transport, call)
            assert status == 404
            assert "try pulling it first" in excerpt
            assert await transport.list_models(call.provider, None) == ["qwen3:8b"]
        assert fake.chat_requests[0].json["stream"] is True


# ----------------------------------------------------------------------------- the fault matrix

FAULTS: list[tuple[str, Any, str]] = [
    ("ok", Ok(Answer(text="a b c")), "answer"),
    ("no_done", no_done("a b c"), "answer"),
    ("empty", empty(), "empty"),
    ("http_429", HttpError(429, retry_after=3), "status"),
    ("hang_before_headers", HangBeforeHeaders(limit_s=0.3), "failure"),
    ("silent_after_preamble", SilentAfterPreamble(limit_s=0.3), "failure"),
    ("hang_mid_stream", HangMidStream(after=1, limit_s=0.3), "failure"),
    ("reset_before_headers", Reset(), "failure"),
    ("reset_mid_stream", Reset(after=1), "failure"),
    ("cut_stream", CutStream(after=2), "failure"),
    ("cut_mid_event", CutStream(after=1, mid_event=True), "failure"),
    ("malformed_event", MalformedFault(after=1), "malformed"),
    ("stream_error", StreamError(after=1), "failure"),
]


def _server(dialect: str) -> FakeAnthropicServer | FakeOllamaServer:
    if dialect == "anthropic":
        return FakeAnthropicServer(hang_limit_s=2.0)
    return FakeOllamaServer(hang_limit_s=2.0)


def _matrix_call(dialect: str, url: str) -> tuple[Any, UpstreamCall]:
    return (
        (AnthropicTransport, _anthropic_call(url))
        if dialect == "anthropic"
        else (OllamaTransport, _ollama_call(url))
    )


@pytest.mark.parametrize("dialect", ["anthropic", "ollama"])
@pytest.mark.parametrize(("name", "fault", "outcome"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_every_scripted_fault_reaches_the_adapter(
    dialect: str, name: str, fault: Any, outcome: str
) -> None:
    """Each fault the OpenAI fake knows plays in the Anthropic and Ollama dialects too, and the
    adapter sees it as an answer, an empty answer, an error status, a malformed event or a
    TransportFailure, never a hang or a crash."""
    with _server(dialect) as fake:
        fake.script(fault)
        transport_cls, call = _matrix_call(dialect, fake.url)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
            transport = transport_cls(client)
            if outcome == "failure":
                with pytest.raises(TransportFailure):
                    await _drain(transport, call)
                return
            status, chunks, excerpt = await _drain(transport, call)
    _check_outcome(outcome, status, chunks, excerpt)


def _check_outcome(outcome: str, status: int, chunks: list[Any], excerpt: str) -> None:
    """What the adapter saw is what the fault's ``outcome`` says it should be."""
    if outcome == "status":
        assert status == 429
        assert excerpt
    elif outcome == "empty":
        assert status == 200
        assert _text(chunks) == ""
        assert not _arguments(chunks)
    else:
        assert status == 200
        assert _text(chunks) == ("a b c" if outcome == "answer" else "one two three four five six")
        assert any(isinstance(c, MalformedEvent) for c in chunks) is (outcome == "malformed")


@pytest.mark.parametrize(("name", "fault", "outcome"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_every_scripted_fault_reaches_the_openai_adapter_on_the_proxys_wire(
    name: str, fault: Any, outcome: str
) -> None:
    """Each fault reaches the OpenAI adapter over the proxy's own pooled client (which it
    writes to and parses from directly) as an answer, an empty answer, an error status, a
    malformed event or a TransportFailure, never a hang or a crash."""
    from openclaw_failover.providers.openai import OpenAICompatTransport
    from openclaw_failover.proxy import open_http_client

    with FakeOpenAIServer(models=["fake-model"], hang_limit_s=2.0) as fake:
        fake.script(fault)
        provider = Provider(id="openai", api="openai-completions", base_url=fake.url)
        profile = Profile(id="openai:0", provider="openai", secret=Secret("sk-1"), source="config")
        call = UpstreamCall(provider, Candidate("openai", "fake-model"), profile, QUESTION)
        async with open_http_client() as client:
            transport = OpenAICompatTransport(client)
            if outcome == "failure":
                with pytest.raises(TransportFailure):
                    await asyncio.wait_for(_drain(transport, call), 10)
                return
            status, chunks, excerpt = await asyncio.wait_for(_drain(transport, call), 10)
    _check_outcome(outcome, status, chunks, excerpt)
