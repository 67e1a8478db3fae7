"""probe: one tiny call per candidate and key, classified into the operator's buckets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any

from openclaw_failover._model import Candidate, Profile, Provider, Route, RouteTable, Secret
from openclaw_failover._ports import MalformedEvent, TransportFailure, UpstreamCall
from openclaw_failover._probe import (
    PROBE_BODY,
    failing_default_candidates,
    probe_records,
    probe_table,
)


class Reply:
    """A scripted upstream reply."""

    def __init__(
        self, status: int, body: str = "", headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.headers = dict(headers or {})
        self.body = body

    async def error_excerpt(self, limit: int = 4096) -> str:
        """The error body."""
        return self.body[:limit]

    async def chunks(self) -> AsyncIterator[dict[str, Any] | MalformedEvent]:
        """One content chunk."""
        yield {"choices": [{"index": 0, "delta": {"content": "OK"}}]}


class ScriptedTransport:
    """Answers per profile id: a Reply, a TransportFailure, or 'hang'."""

    def __init__(
        self, script: Mapping[str, Reply | TransportFailure | str], models: list[str]
    ) -> None:
        self.script = script
        self.models = models
        self.calls: list[UpstreamCall] = []

    @asynccontextmanager
    async def send(self, call: UpstreamCall) -> AsyncIterator[Reply]:
        """Play the profile's script."""
        self.calls.append(call)
        what = self.script[call.profile.id if call.profile else "-"]
        if isinstance(what, TransportFailure):
            raise what
        if what == "hang":
            await asyncio.sleep(30)
        assert isinstance(what, Reply)
        yield what

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """The scripted model list."""
        return self.models


def _profile(pid: str, key: str | None = "sk-probe-DISTINCTIVE") -> Profile:
    provider = pid.split(":", maxsplit=1)[0]
    return Profile(pid, provider, Secret(key) if key else None, "env", "X_API_KEY")


def _table() -> RouteTable:
    labels = ("ok", "auth", "rl", "bill", "gone", "reset", "hang", "nokey")
    providers = {
        "a": Provider(
            "a",
            "openai-completions",
            "https://a.invalid",
            tuple(_profile(f"a:{x}", None if x == "nokey" else "sk-x") for x in labels),
        ),
        "b": Provider("b", "openai-completions", "https://b.invalid", (_profile("b:only"),)),
        "c": Provider("c", "openai-completions", "https://c.invalid", (_profile("c:gone"),)),
    }
    routes = {
        "auto": Route("auto", (Candidate("a", "m1"), Candidate("b", "m2"))),
        "batch": Route("batch", (Candidate("c", "m3"),)),
    }
    return RouteTable(routes=MappingProxyType(routes), providers=MappingProxyType(providers))


SCRIPT: dict[str, Reply | TransportFailure | str] = {
    "a:ok": Reply(200),
    "a:auth": Reply(401, '{"error": {"message": "Incorrect API key provided: sk-x"}}'),
    "a:rl": Reply(429, '{"error": {"message": "slow down"}}', {"retry-after": "3"}),
    "a:bill": Reply(402, '{"error": {"message": "insufficient credits"}}'),
    "a:gone": Reply(404, '{"error": {"message": "model m1 not found"}}'),
    "a:reset": TransportFailure("ReadTimeout", "read timed out"),
    "a:hang": "hang",
    "b:only": Reply(503, '{"error": {"message": "down"}}'),
    "c:gone": TransportFailure("ConnectError", "connection refused"),
}


async def test_each_key_gets_its_bucket_with_latency_and_listing() -> None:
    """ok / auth / rate_limit / billing / not_found / timeout / no_key / unreachable, per key."""
    transport = ScriptedTransport(SCRIPT, models=["m1"])
    results = await probe_table(
        _table(), transports={"openai-completions": transport}, timeout_s=0.3
    )
    verdicts = {r.profile: r.verdict for r in results}
    assert verdicts == {
        "a:ok": "ok",
        "a:auth": "auth",
        "a:rl": "rate_limit",
        "a:bill": "billing",
        "a:gone": "not_found",
        "a:reset": "timeout",
        "a:hang": "timeout",
        "a:nokey": "no_key",
        "b:only": "server_error",
        "c:gone": "unreachable",
    }
    ok = next(r for r in results if r.profile == "a:ok")
    assert (ok.status, ok.listed) == (200, True)
    assert next(r for r in results if r.profile == "b:only").listed is False
    assert all(c.body == PROBE_BODY and c.body["max_tokens"] == 1 for c in transport.calls)
    assert "sk-x" not in repr([r.to_json() for r in results])


async def test_failing_default_candidates_drive_the_exit_code() -> None:
    """A candidate fails only when none of its keys answered: here b, not a."""
    transport = ScriptedTransport(SCRIPT, models=[])
    results = await probe_table(
        _table(), transports={"openai-completions": transport}, timeout_s=0.3
    )
    assert failing_default_candidates(results) == ["b/m2"]


async def test_only_one_provider_and_unsupported_api() -> None:
    """probe b touches only b; a provider whose api has no transport is reported, not called."""
    transport = ScriptedTransport(SCRIPT, models=[])
    results = await probe_table(_table(), transports={"openai-completions": transport}, only="b")
    assert [r.profile for r in results] == ["b:only"]
    results = await probe_table(_table(), transports={}, only="b")
    assert results[0].verdict == "unsupported_api"


async def test_probe_results_become_probe_audit_lines() -> None:
    """Each result is one ``probe`` line naming candidate, key, status and verdict, no key."""
    transport = ScriptedTransport(SCRIPT, models=["m1"])
    results = await probe_table(_table(), transports={"openai-completions": transport}, only="b")
    (record,) = probe_records(results, _table(), now=5.0)
    assert (record.event, record.provider, record.model, record.profile) == (
        "probe",
        "b",
        "m2",
        "b:only",
    )
    assert (record.status, record.reason, record.detail) == (
        503,
        "server_error",
        "cli probe: server_error",
    )
    assert "sk-" not in repr(record.to_json())
