"""Test helpers that ship with the product: fake clock, fault-injecting fake providers.

Faults (:mod:`._faults`) say what happens on a connection; dialects (:mod:`._dialect`) say
what the bytes look like; :class:`FakeProviderServer` plays one in the other on 127.0.0.1.
"""

from __future__ import annotations

from ._capture import CapturingAuditSink
from ._clock import FakeClock
from ._dialect import Dialect, StreamPlan
from ._fake_anthropic import AnthropicDialect, FakeAnthropicServer
from ._fake_ollama import FakeOllamaServer, OllamaDialect
from ._fake_openai import FakeOpenAIServer, OpenAIDialect
from ._fake_server import FakeProviderServer
from ._faults import (
    Answer,
    CutStream,
    Fault,
    HangBeforeHeaders,
    HangMidStream,
    HttpError,
    MalformedEvent,
    Ok,
    Reset,
    SilentAfterPreamble,
    StreamError,
    ToolCall,
    empty,
    fault_from_json,
    fault_to_json,
    no_done,
    slow_first_token,
    tool_reply,
)
from ._script import Mix, RecordedRequest, Rule, Script

__all__ = [
    "Answer",
    "AnthropicDialect",
    "CapturingAuditSink",
    "CutStream",
    "Dialect",
    "FakeAnthropicServer",
    "FakeClock",
    "FakeOllamaServer",
    "FakeOpenAIServer",
    "FakeProviderServer",
    "Fault",
    "HangBeforeHeaders",
    "HangMidStream",
    "HttpError",
    "MalformedEvent",
    "Mix",
    "Ok",
    "OllamaDialect",
    "OpenAIDialect",
    "RecordedRequest",
    "Reset",
    "Rule",
    "Script",
    "SilentAfterPreamble",
    "StreamError",
    "StreamPlan",
    "ToolCall",
    "empty",
    "fault_from_json",
    "fault_to_json",
    "no_done",
    "slow_first_token",
    "tool_reply",
]
