"""The fake OpenAI-compatible server plays every scripted fault faithfully on a real socket."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from openclaw_failover.testing import (
    Answer,
    CutStream,
    FakeOpenAIServer,
    HangBeforeHeaders,
    HangMidStream,
    HttpError,
    MalformedEvent,
    Ok,
    Reset,
    SilentAfterPreamble,
    StreamError,
    empty,
    no_done,
    slow_first_token,
    tool_reply,
)

BODY: dict[str, Any] = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def client(server: FakeOpenAIServer, key: str = "sk-test-a") -> httpx.Client:
    """A client with a bearer key and short timeouts."""
    return httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=10.0
    )


def stream_lines(server: FakeOpenAIServer, **extra: Any) -> list[str]:
    """POST a streamed request and return the non-empty SSE lines."""
    with (
        client(server) as c,
        c.stream("POST", "/chat/completions", json={**BODY, "stream": True, **extra}) as reply,
    ):
        assert reply.status_code == 200
        return [line for line in reply.iter_lines() if line]


def events(lines: list[str]) -> list[dict[str, Any]]:
    """The parsed JSON of every data line except [DONE]."""
    return [json.loads(line[6:]) for line in lines if line != "data: [DONE]"]


def text_of(lines: list[str]) -> str:
    """The concatenated content deltas of a stream."""
    parts = [c["choices"][0]["delta"].get("content") or "" for c in events(lines) if c["choices"]]
    return "".join(parts)


def collect(server: FakeOpenAIServer, sink: list[bytes], *, read_s: float = 5.0) -> None:
    """Stream a request, appending each raw body piece to ``sink`` until the body ends."""
    timeout = httpx.Timeout(5.0, read=read_s)
    with (
        httpx.Client(timeout=timeout) as c,
        c.stream("POST", f"{server.url}/chat/completions", json={**BODY, "stream": True}) as reply,
    ):
        assert reply.status_code == 200
        sink.extend(reply.iter_raw())


def lines_of(raw: list[bytes]) -> list[str]:
    """The non-empty lines of collected raw pieces."""
    return [line for line in b"".join(raw).decode().split("\n") if line]


def test_default_reply_non_stream(fake_openai: FakeOpenAIServer) -> None:
    """With no script, a non-stream request gets a chat.completion with text and usage."""
    with client(fake_openai) as c:
        body = c.post("/chat/completions", json=BODY).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Hello from the fake provider."
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 5
    assert body["model"] == "fake-model"


def test_default_reply_stream_with_usage(fake_openai: FakeOpenAIServer) -> None:
    """A stream opens with an empty role chunk, has one chunk per piece, usage, then [DONE]."""
    lines = stream_lines(fake_openai, stream_options={"include_usage": True})
    chunks = events(lines)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert text_of(lines) == "Hello from the fake provider."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert lines[-1] == "data: [DONE]"


def test_no_usage_chunk_unless_asked(fake_openai: FakeOpenAIServer) -> None:
    """Without stream_options.include_usage no chunk has empty choices."""
    assert all(c["choices"] for c in events(stream_lines(fake_openai)))


def test_tool_call_reply_streams_and_reassembles(fake_openai: FakeOpenAIServer) -> None:
    """A tool-call reply streams id and name first, then argument fragments that join to JSON."""
    fake_openai.script(tool_reply("exec", {"command": "ls -la"}, call_id="call_9"))
    chunks = events(stream_lines(fake_openai))
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"][0]["delta"].get("tool_calls")
    ]
    assert (calls[0]["id"], calls[0]["function"]["name"]) == ("call_9", "exec")
    args = "".join(c["function"]["arguments"] for c in calls)
    assert json.loads(args) == {"command": "ls -la"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_call_reply_non_stream(fake_openai: FakeOpenAIServer) -> None:
    """A non-stream tool call has content null and arguments as a JSON string."""
    fake_openai.script(tool_reply("read", {"path": "a.txt"}))
    with client(fake_openai) as c:
        message = c.post("/chat/completions", json=BODY).json()["choices"][0]["message"]
    assert message["content"] is None
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"path": "a.txt"}


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (401, "invalid_request_error", "invalid_api_key"),
        (402, "insufficient_quota", "insufficient_quota"),
        (403, "invalid_request_error", "unsupported_country_region_territory"),
        (404, "invalid_request_error", "model_not_found"),
        (429, "requests", "rate_limit_exceeded"),
        (500, "server_error", None),
        (502, "server_error", None),
        (503, "server_error", None),
        (529, "server_error", "overloaded"),
    ],
)
def test_http_errors_use_the_openai_error_shape(
    fake_openai: FakeOpenAIServer, status: int, kind: str, code: str | None
) -> None:
    """Each scripted status comes back with OpenAI's {"error": {message,type,param,code}}."""
    fake_openai.script(HttpError(status))
    with client(fake_openai) as c:
        reply = c.post("/chat/completions", json=BODY)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (kind, code, None)
    assert "sk-test-a" not in reply.text


def test_retry_after_headers_and_overrides(fake_openai: FakeOpenAIServer) -> None:
    """Retry-After (seconds or date), retry-after-ms, message and code go out as scripted."""
    fake_openai.script(
        HttpError(429, retry_after=1, retry_after_ms=750, code="insufficient_quota", message="q"),
        HttpError(429, retry_after="Wed, 21 Oct 2026 07:28:00 GMT"),
        HttpError(429),
    )
    with client(fake_openai) as c:
        first, second, third = (c.post("/chat/completions", json=BODY) for _ in range(3))
    assert (first.headers["retry-after"], first.headers["retry-after-ms"]) == ("1", "750")
    assert first.json()["error"] == {
        "message": "q",
        "type": "requests",
        "param": None,
        "code": "insufficient_quota",
    }
    assert second.headers["retry-after"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert "retry-after" not in third.headers


def test_rules_match_by_key_and_model(fake_openai: FakeOpenAIServer) -> None:
    """A rule for one key or model leaves other keys and models answered normally."""
    fake_openai.always(HttpError(401), key="sk-revoked")
    fake_openai.always(HttpError(503), model="fake-model-2")
    with client(fake_openai, "sk-revoked") as bad, client(fake_openai) as good:
        assert bad.post("/chat/completions", json=BODY).status_code == 401
        assert good.post("/chat/completions", json=BODY).status_code == 200
        other = {**BODY, "model": "fake-model-2"}
        assert good.post("/chat/completions", json=other).status_code == 503
    assert fake_openai.keys_seen() == ["sk-revoked", "sk-test-a", "sk-test-a"]


def test_x_api_key_header_identifies_the_key(fake_openai: FakeOpenAIServer) -> None:
    """Without a bearer token, x-api-key selects the key's rules."""
    fake_openai.script(HttpError(402), key="k-2")
    reply = httpx.post(
        f"{fake_openai.url}/chat/completions", json=BODY, headers={"x-api-key": "k-2"}
    )
    assert reply.status_code == 402


def test_script_is_a_queue_and_request_index_rules(fake_openai: FakeOpenAIServer) -> None:
    """script() faults play once each in order; on_request targets one request index."""
    fake_openai.script(HttpError(500), HttpError(502))
    fake_openai.on_request(3, HttpError(529))
    with client(fake_openai) as c:
        got = [c.post("/chat/completions", json=BODY).status_code for _ in range(5)]
    assert got == [500, 502, 200, 529, 200]
    assert [r.index for r in fake_openai.chat_requests] == [0, 1, 2, 3, 4]


def test_request_log_keeps_headers_and_body(fake_openai: FakeOpenAIServer) -> None:
    """Each logged request has lower-case headers, raw body, parsed JSON and the fault played."""
    fake_openai.script(HttpError(503))
    with client(fake_openai) as c:
        c.post("/chat/completions", json=BODY, headers={"X-Trace": "t1"})
    (entry,) = fake_openai.requests
    assert entry.headers["x-trace"] == "t1"
    assert entry.json == BODY
    assert json.loads(entry.body) == BODY
    assert (entry.fault, entry.model, entry.key) == ("http_error", "fake-model", "sk-test-a")


def test_models_endpoint(fake_openai: FakeOpenAIServer) -> None:
    """GET /v1/models lists the configured models in OpenAI's list shape."""
    with client(fake_openai) as c:
        body = c.get("/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["fake-model", "fake-model-2"]


def test_unknown_path_is_a_404(fake_openai: FakeOpenAIServer) -> None:
    """Paths the dialect does not serve answer 404 in the error shape."""
    with client(fake_openai) as c:
        reply = c.post("/embeddings", json=BODY)
    assert reply.status_code == 404
    assert "error" in reply.json()


def test_reset_before_headers(fake_openai: FakeOpenAIServer) -> None:
    """Reset() aborts with a TCP RST before any response byte."""
    fake_openai.script(Reset())
    with client(fake_openai) as c, pytest.raises(httpx.ReadError):
        c.post("/chat/completions", json=BODY)


def test_reset_mid_stream_after_content(fake_openai: FakeOpenAIServer) -> None:
    """Reset(after=2) delivers the role chunk and two pieces, then a connection reset."""
    fake_openai.script(Reset(after=2))
    got: list[bytes] = []
    with pytest.raises(httpx.ReadError):
        collect(fake_openai, got)
    assert text_of(lines_of(got)) == "one two "


@pytest.mark.parametrize("mid_event", [False, True])
def test_cut_stream_is_an_incomplete_body(fake_openai: FakeOpenAIServer, mid_event: bool) -> None:
    """CutStream closes without [DONE] or the chunked end; mid_event leaves half an event."""
    fake_openai.script(CutStream(after=1, mid_event=mid_event))
    got: list[bytes] = []
    with pytest.raises(httpx.RemoteProtocolError):
        collect(fake_openai, got)
    raw = b"".join(got)
    assert b"[DONE]" not in raw
    assert raw.endswith(b"\n\n") is not mid_event


def test_cut_non_stream_body(fake_openai: FakeOpenAIServer) -> None:
    """A non-stream CutStream sends half the declared content length, then closes."""
    fake_openai.script(CutStream(after=1))
    with client(fake_openai) as c, pytest.raises(httpx.RemoteProtocolError):
        c.post("/chat/completions", json=BODY)


def test_malformed_event_then_the_rest(fake_openai: FakeOpenAIServer) -> None:
    """MalformedEvent inserts one unparseable data line; the stream still finishes with [DONE]."""
    fake_openai.script(MalformedEvent(after=1))
    lines = stream_lines(fake_openai)
    bad = [line for line in lines if line.startswith("data: {") and not _parses(line[6:])]
    assert len(bad) == 1
    assert lines[-1] == "data: [DONE]"


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_stream_error_event(fake_openai: FakeOpenAIServer) -> None:
    """StreamError sends an {"error": ...} data event after the pieces, then ends cleanly."""
    fake_openai.script(StreamError(after=1, status=529))
    chunks = events(stream_lines(fake_openai))
    assert chunks[-1]["error"]["code"] == "overloaded"


def test_complete_stream_without_done(fake_openai: FakeOpenAIServer) -> None:
    """no_done() sends every chunk and the finish reason but no [DONE]; the body ends cleanly."""
    fake_openai.script(no_done())
    lines = stream_lines(fake_openai)
    assert "data: [DONE]" not in lines
    assert events(lines)[-1]["choices"][0]["finish_reason"] == "stop"


def test_empty_200(fake_openai: FakeOpenAIServer) -> None:
    """empty() streams a role chunk and a finish chunk with no content; non-stream content is ''."""
    fake_openai.script(empty(), empty())
    lines = stream_lines(fake_openai)
    assert text_of(lines) == ""
    assert not any("tool_calls" in c["choices"][0]["delta"] for c in events(lines))
    with client(fake_openai) as c:
        message = c.post("/chat/completions", json=BODY).json()["choices"][0]["message"]
    assert message["content"] == ""


def test_slow_first_token(fake_openai: FakeOpenAIServer) -> None:
    """Headers and the role chunk come at once; the first content piece after the delay."""
    fake_openai.script(slow_first_token(0.4))
    with (
        client(fake_openai) as c,
        c.stream("POST", "/chat/completions", json={**BODY, "stream": True}) as reply,
    ):
        started = time.monotonic()
        lines = reply.iter_lines()
        role = next(lines)
        role_at = time.monotonic() - started
        first = next(line for line in lines if line)
        first_at = time.monotonic() - started
    assert '"role":"assistant"' in role
    assert role_at < first_at
    assert first_at >= 0.35
    assert '"content":"Hello "' in first


def test_chunk_delay_spaces_the_pieces(fake_openai: FakeOpenAIServer) -> None:
    """chunk_delay_s waits between content pieces."""
    fake_openai.script(Ok(Answer(text="a b c"), chunk_delay_s=0.1))
    started = time.monotonic()
    stream_lines(fake_openai)
    assert time.monotonic() - started >= 0.2


def test_hang_before_headers_ends_at_its_limit(fake_openai: FakeOpenAIServer) -> None:
    """HangBeforeHeaders sends nothing, then closes at its limit (the client sees no response)."""
    fake_openai.script(HangBeforeHeaders(limit_s=0.5))
    started = time.monotonic()
    with client(fake_openai) as c, pytest.raises(httpx.RemoteProtocolError):
        c.post("/chat/completions", json=BODY)
    assert 0.45 <= time.monotonic() - started < 3


def test_hang_before_headers_trips_a_client_timeout(fake_openai: FakeOpenAIServer) -> None:
    """A client read timeout fires during the hang, and the fake notices the disconnect."""
    fake_openai.script(HangBeforeHeaders())
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.3)) as c, pytest.raises(httpx.ReadTimeout):
        c.post(f"{fake_openai.url}/chat/completions", json=BODY)
    with client(fake_openai) as c:
        assert c.post("/chat/completions", json=BODY).status_code == 200


def test_silent_after_preamble(fake_openai: FakeOpenAIServer) -> None:
    """SilentAfterPreamble sends 200, headers and the empty role chunk, then nothing."""
    fake_openai.script(SilentAfterPreamble())
    got: list[bytes] = []
    with pytest.raises(httpx.ReadTimeout):
        collect(fake_openai, got, read_s=0.4)
    assert len(lines_of(got)) == 1
    assert text_of(lines_of(got)) == ""


def test_hang_mid_stream(fake_openai: FakeOpenAIServer) -> None:
    """HangMidStream(after=1) sends one piece, then goes quiet."""
    fake_openai.script(HangMidStream(after=1))
    got: list[bytes] = []
    with pytest.raises(httpx.ReadTimeout):
        collect(fake_openai, got, read_s=0.4)
    assert text_of(lines_of(got)) == "one "


def test_stop_ends_a_hang_promptly() -> None:
    """Stopping the server ends a request hanging before headers without waiting its limit."""
    server = FakeOpenAIServer(hang_limit_s=30.0).start()
    server.always(HangBeforeHeaders())
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(f"{server.url}/chat/completions", json=BODY, timeout=20)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    caller.join(10)
    assert time.monotonic() - started < 3
    assert len(errors) == 1


def test_keep_alive_serves_many_requests_on_one_connection(fake_openai: FakeOpenAIServer) -> None:
    """Complete replies (stream or not, errors included) keep the connection for the next one."""
    fake_openai.script(HttpError(429))
    with client(fake_openai) as c:
        for _ in range(3):
            c.post("/chat/completions", json=BODY)
        with c.stream("POST", "/chat/completions", json={**BODY, "stream": True}) as reply:
            reply.read()
    assert fake_openai.connections == 1


async def test_usable_from_async_clients(fake_openai: FakeOpenAIServer) -> None:
    """An httpx.AsyncClient in the test's loop talks to the server's own thread."""
    async with httpx.AsyncClient(base_url=fake_openai.url) as c:
        replies = [await c.post("/chat/completions", json=BODY) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 200]


def test_garbage_requests_only_end_their_own_connection(fake_openai: FakeOpenAIServer) -> None:
    """Bad request lines, lengths and chunk sizes close that connection; the server serves on."""
    import socket

    for junk in (
        b"NOT HTTP\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: x\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    ):
        with socket.create_connection(("127.0.0.1", fake_openai.port), timeout=5) as sock:
            sock.sendall(junk)
            assert sock.recv(100) == b""
    with client(fake_openai) as c:
        assert c.post("/chat/completions", json=BODY).status_code == 200


def test_chunked_request_bodies_are_read(fake_openai: FakeOpenAIServer) -> None:
    """A request body sent with chunked transfer encoding is parsed and logged whole."""
    data = json.dumps(BODY).encode()
    with client(fake_openai) as c:
        reply = c.post("/chat/completions", content=iter([data[:10], data[10:]]))
    assert reply.status_code == 200
    assert fake_openai.requests[-1].json == BODY
