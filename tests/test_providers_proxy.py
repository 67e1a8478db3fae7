"""The official ``openai`` SDK through the failover proxy, answered by the Anthropic and Ollama
fakes: the translated chunks are valid OpenAI chunks for a client nobody here wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from openclaw_failover.proxy import create_app
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.testing import (
    Answer,
    CapturingAuditSink,
    FakeClock,
    HttpError,
    Ok,
    ToolCall,
)
from tests.fixtures.proxy import running_server
from tests.test_providers_chain import WEATHER_TOOL, Fakes, chain_table, running_fakes

QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    """The three fakes for one test."""
    with running_fakes() as running:
        yield running


@pytest.fixture
def proxy_url(fakes: Fakes) -> Iterator[str]:
    """The proxy on loopback over the openai -> anthropic -> ollama chain."""
    app = create_app(
        chain_table(fakes), store=MemoryStateStore(), audit=CapturingAuditSink(), clock=FakeClock()
    )
    with running_server(app) as url:
        yield url


@pytest.fixture
def sdk(proxy_url: str) -> Iterator[openai.OpenAI]:
    """The official client pointed at the proxy, closed after the test."""
    with openai.OpenAI(
        base_url=f"{proxy_url}/v1", api_key="unused", max_retries=0, timeout=20
    ) as client:
        yield client


def test_sdk_streams_an_anthropic_tool_call_through_the_proxy(
    sdk: openai.OpenAI,
    fakes: Fakes,
) -> None:
    """A streamed SDK call fails over from a 503-ing OpenAI fake to the Anthropic fake; the SDK
    assembles its text and tool call (string arguments) and sees who answered."""
    fakes.openai.always(HttpError(503))
    call = ToolCall("get_weather", {"city": "Paris"}, "toolu_42")
    fakes.anthropic.always(Ok(Answer(text="Checking.", tool_calls=(call,))))
    raw = sdk.chat.completions.with_raw_response.create(
        model="auto",
        messages=QUESTION,
        tools=[WEATHER_TOOL],
        stream=True,  # type: ignore[list-item]
    )
    text, name, arguments, finish = "", "", "", None
    for chunk in raw.parse():
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for tc in choice.delta.tool_calls or ():
                name += (tc.function.name or "") if tc.function else ""
                arguments += (tc.function.arguments or "") if tc.function else ""
            finish = choice.finish_reason or finish
    assert raw.headers["x-openclaw-failover-provider"] == "anthropic"
    assert raw.headers["x-openclaw-failover-downgraded"] == "true"
    assert text == "Checking."
    assert name == "get_weather"
    assert json.loads(arguments) == {"city": "Paris"}
    assert finish == "tool_calls"


def test_sdk_gets_an_ollama_answer_through_the_proxy(
    sdk: openai.OpenAI,
    fakes: Fakes,
) -> None:
    """A non-streamed SDK call lands on the local Ollama fake when both clouds fail; the
    completion parses with the SDK's own types and carries usage."""
    fakes.openai.always(HttpError(500))
    fakes.anthropic.always(HttpError(529))
    fakes.ollama.always(Ok(Answer(text="Local says hello.", prompt_tokens=9)))
    raw = sdk.chat.completions.with_raw_response.create(model="auto", messages=QUESTION)
    completion = raw.parse()
    assert raw.headers["x-openclaw-failover-tier"] == "local"
    assert completion.choices[0].message.content == "Local says hello."
    assert completion.model == "qwen3:8b"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 9


def test_anthropic_tool_use_id_round_trips_through_the_sdk(
    sdk: openai.OpenAI,
    fakes: Fakes,
) -> None:
    """The tool_use id Anthropic gave comes back to it as the tool_result's tool_use_id when
    the SDK client answers the tool call in OpenAI shape."""
    fakes.openai.always(HttpError(500))
    call = ToolCall("get_weather", {"city": "Paris"}, "toolu_01RoundTrip")
    fakes.anthropic.script(
        Ok(Answer(text="", pieces=(), tool_calls=(call,))), Ok(Answer(text="Sunny, 22 C."))
    )
    client = sdk
    first = client.chat.completions.create(
        model="auto",
        messages=QUESTION,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    tool_call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert tool_call.id == "toolu_01RoundTrip"
    history = [
        *QUESTION,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": tool_call.id, "content": "22 C, sunny"},
    ]
    second = client.chat.completions.create(
        model="auto",
        messages=history,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert second.choices[0].message.content == "Sunny, 22 C."
    sent = [r.json for r in fakes.anthropic.chat_requests][-1]["messages"]
    assert sent[1]["content"][0]["type"] == "tool_use"
    assert sent[1]["content"][0]["id"] == "toolu_01RoundTrip"
    assert sent[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_01RoundTrip",
        "content": "22 C, sunny",
    }
