"""A non-streamed request is answered from the upstream's stream (``aggregate``): the fields a
whole ``chat.completion`` has besides content and tool calls survive the merge: ``refusal``
(structured outputs), ``reasoning_content`` / ``reasoning`` (DeepSeek, vLLM, OpenRouter), a
legacy ``function_call``, and ``logprobs``."""

from __future__ import annotations

from typing import Any

from openclaw_failover._answer import aggregate


def _chunk(
    delta: dict[str, Any], *, finish: str | None = None, logprobs: Any = None
) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {"id": "c1", "created": 7, "choices": [choice]}


def _token(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()), "top_logprobs": []}


def test_a_streamed_refusal_is_the_messages_refusal() -> None:
    chunks = [
        _chunk({"role": "assistant", "content": None, "refusal": ""}),
        _chunk({"refusal": "I can't help "}),
        _chunk({"refusal": "with that."}),
        _chunk({}, finish="stop"),
    ]
    message = aggregate(chunks, model="m")["choices"][0]["message"]
    assert message["refusal"] == "I can't help with that."
    assert message["content"] is None


def test_reasoning_text_is_joined_beside_the_content() -> None:
    chunks = [
        _chunk({"role": "assistant", "reasoning_content": "Think"}),
        _chunk({"reasoning_content": "ing..."}),
        _chunk({"content": "42", "reasoning": "r"}),
        _chunk({}, finish="stop"),
    ]
    message = aggregate(chunks, model="m")["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": "42",
        "reasoning_content": "Thinking...",
        "reasoning": "r",
    }


def test_a_legacy_function_call_in_pieces_is_whole() -> None:
    chunks = [
        _chunk({"role": "assistant", "function_call": {"name": "read", "arguments": ""}}),
        _chunk({"function_call": {"arguments": '{"path"'}}),
        _chunk({"function_call": {"arguments": ': "x"}'}}),
        _chunk({}, finish="function_call"),
    ]
    choice = aggregate(chunks, model="m")["choices"][0]
    assert choice["message"]["function_call"] == {"name": "read", "arguments": '{"path": "x"}'}
    assert choice["finish_reason"] == "function_call"


def test_logprobs_of_every_chunk_are_kept_in_order() -> None:
    chunks = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Hel"}, logprobs={"content": [_token("Hel", -0.1)], "refusal": None}),
        _chunk({"content": "lo"}, logprobs={"content": [_token("lo", -0.2)], "refusal": None}),
        _chunk({}, finish="stop"),
    ]
    choice = aggregate(chunks, model="m")["choices"][0]
    assert choice["message"]["content"] == "Hello"
    assert choice["logprobs"] == {
        "content": [_token("Hel", -0.1), _token("lo", -0.2)],
        "refusal": None,
    }


def test_a_plain_answer_is_unchanged() -> None:
    chunks = [_chunk({"role": "assistant", "content": "hi"}), _chunk({}, finish="stop")]
    choice = aggregate(chunks, model="m")["choices"][0]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": "hi"},
        "finish_reason": "stop",
        "logprobs": None,
    }
