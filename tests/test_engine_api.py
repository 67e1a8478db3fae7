"""The engine's surface: chat(), open()/aclose(), audit lines (one outcome, no secrets),
health_snapshot, from_config over a real file and the fake server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from openclaw_failover._engine import FailoverEngine
from openclaw_failover._errors import AllCandidatesFailed
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._ordering import model_key
from openclaw_failover._ports import Health
from openclaw_failover.testing import CapturingAuditSink, FakeClock, FakeOpenAIServer, HttpError
from tests.fixtures.engine import Spec, error, make_engine, make_table

SECRET_KEYS = ("sk-live-AAAA1111", "sk-live-BBBB2222")
PROMPT = "my very private prompt text"
REQ = ChatRequest(body={"messages": [{"role": "user", "content": PROMPT}]}, session_id="s1")
SPECS = [Spec("p", "m1", keys=SECRET_KEYS), Spec("q", "m2", keys=("sk-live-CCCC3333",))]


def _lines(audit: CapturingAuditSink) -> list[str]:
    return [json.dumps(r.to_json()) for r in audit.records]


async def test_chat_returns_a_completion_that_says_who_answered() -> None:
    """``chat`` returns an OpenAI body plus provider, model, profile, tier and version."""
    rig = make_engine(make_table(SPECS))
    body = await rig.engine.chat([{"role": "user", "content": "hi"}], temperature=0)
    assert body["object"] == "chat.completion"
    assert body["openclaw_failover"]["profile"] == "p:0"
    assert body["openclaw_failover"]["route_version"] == "v-test"
    assert rig.upstream.bodies[0]["temperature"] == 0


async def test_chat_stream_returns_a_started_answer() -> None:
    """``chat(stream=True)`` gives an answer to iterate and close, with its meta."""
    rig = make_engine(make_table(SPECS))
    answer = await rig.engine.chat([{"role": "user", "content": "hi"}], stream=True)
    pieces = [c["choices"][0]["delta"].get("content", "") async for c in answer if c["choices"]]
    text = "".join(pieces)
    await answer.aclose()
    assert text == "hello"
    assert answer.meta.provider == "p"


async def test_exactly_one_outcome_line_per_request() -> None:
    """Answered, downgraded, hard-stopped: every request writes one outcome line."""
    rig = make_engine(make_table(SPECS))
    await rig.engine.complete(REQ)
    rig.upstream.set(error(500), model="m1")
    await rig.engine.complete(REQ)
    rig.upstream.set(error(500))
    rig.clock.advance(60)
    with pytest.raises(AllCandidatesFailed):
        await rig.engine.complete(REQ)
    outcomes = [r.outcome for r in rig.audit.events("outcome")]
    assert outcomes == ["answered", "answered_downgraded", "hard_stop"]
    assert len({r.request_id for r in rig.audit.events("outcome")}) == 3


async def test_audit_never_holds_a_key_or_the_prompt() -> None:
    """No audit line contains a key or prompt text; every line has the route version."""
    rig = make_engine(make_table(SPECS))
    rig.upstream.script(error(401), key=SECRET_KEYS[0])
    await rig.engine.complete(REQ)
    text = "\n".join(_lines(rig.audit))
    for secret in (*SECRET_KEYS, "sk-live-CCCC3333", PROMPT):
        assert secret not in text
    assert {r.route_version for r in rig.audit.records} == {"v-test"}
    assert {r.session_id for r in rig.audit.records} == {"s1"}
    events = [r.event for r in rig.audit.records]
    assert events == ["attempt", "cooldown_set", "attempt", "outcome"]


async def test_closing_an_answer_early_is_a_client_error() -> None:
    """A streamed answer closed before its end writes a client_error outcome and frees the
    stream (one not streamed is read whole before ``open`` returns it)."""
    rig = make_engine(make_table(SPECS))
    answer = await rig.engine.open(ChatRequest(body=REQ.body, stream=True))
    await answer.aclose()
    assert [r.outcome for r in rig.audit.events("outcome")] == ["client_error"]


async def test_session_pin_prefers_the_last_profile() -> None:
    """Without an explicit order, a session keeps the profile that answered it last."""
    rig = make_engine(make_table(SPECS, explicit_order=False))
    first, _ = await rig.engine.complete(REQ)
    other, _ = await rig.engine.complete(ChatRequest(body=REQ.body, session_id="s2"))
    again, _ = await rig.engine.complete(REQ)
    assert first.profile != other.profile  # least recently used rotates for a new session
    assert again.profile == first.profile


async def test_health_snapshot_reports_cooling_candidates() -> None:
    """health_snapshot maps provider/model to healthy/state/until."""
    table = make_table(SPECS)
    rig = make_engine(table)
    until = rig.clock.now() + 30
    first = table.route("auto").candidates[0]
    rig.store._data[model_key(first)] = Health(cooldown_until=until, cooldown_reason="timeout")
    snap = await rig.engine.health_snapshot()
    assert snap["p/m1"] == {"healthy": False, "state": "cooling", "until": until}
    assert snap["q/m2"]["healthy"] is True


async def test_from_config_builds_and_closes_its_parts(tmp_path: Path) -> None:
    """from_config loads a standalone file, talks to its providers, and closes what it built."""
    with FakeOpenAIServer(models=("m-a", "m-b")) as fake:
        fake.always(HttpError(500), model="m-a")
        doc = {
            "agents": {"defaults": {"model": {"primary": "fa/m-a", "fallbacks": ["fb/m-b"]}}},
            "models": {
                "providers": {
                    "fa": {"api": "openai-completions", "baseUrl": fake.url, "apiKey": "${KA}"},
                    "fb": {"api": "openai-completions", "baseUrl": fake.url, "apiKey": "${KB}"},
                }
            },
            "failover": {"state": {"backend": "memory"}},
        }
        path = tmp_path / "failover.json"
        path.write_text(json.dumps(doc))
        environ = {"KA": "sk-a-FAKE", "KB": "sk-b-FAKE", "OPENCLAW_STATE_DIR": str(tmp_path)}
        audit = CapturingAuditSink()
        engine = FailoverEngine.from_config(path, environ=environ, audit=audit, clock=FakeClock())
        async with engine:
            body = await engine.chat([{"role": "user", "content": "hi"}])
        assert body["openclaw_failover"]["provider"] == "fb"
        assert fake.keys_seen() == ["sk-a-FAKE", "sk-a-FAKE", "sk-b-FAKE"]
        assert not audit.closed  # given parts stay the caller's
        assert audit.records[0].event == "config_loaded"


async def test_cancelled_request_writes_a_client_error_outcome() -> None:
    """A caller that leaves while the request is held still gets its one outcome line."""
    rig = make_engine(make_table(SPECS))
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(30)
        raise AssertionError("cancelled before this")

    rig.upstream.set(hang)  # type: ignore[arg-type]
    task = asyncio.create_task(rig.engine.complete(REQ))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(r.outcome, r.detail) for r in rig.audit.events("outcome")] == [
        ("client_error", "cancelled")
    ]
