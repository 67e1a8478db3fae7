"""``/readyz``: ready while a default-route candidate is healthy or answers a probe."""

from __future__ import annotations

import httpx
import pytest

from openclaw_failover._errors import AllCandidatesFailed
from openclaw_failover._exchange import ChatRequest
from openclaw_failover.proxy import _readiness, create_app
from tests.fixtures.proxy import StubAnswer, StubEngine, running_server

DOWN = {"healthy": False}


async def hard_stop(request: ChatRequest) -> StubAnswer:
    del request
    raise AllCandidatesFailed((), soonest_retry_at=None)


def test_ready_unready_ready_again() -> None:
    """Every candidate down and the probe failing -> 503; recovery -> 200 again."""
    engine = StubEngine()
    with running_server(create_app(engine)) as url:
        first = httpx.get(f"{url}/readyz")
        assert first.status_code == 200
        assert first.json()["healthy"] == ["p1/m1", "p2/m2", "ollama/q"]
        engine.health = {"p1/m1": DOWN, "p2/m2": DOWN, "ollama/q": DOWN}
        engine.plan = hard_stop
        down = httpx.get(f"{url}/readyz")
        assert down.status_code == 503
        assert down.json()["detail"] == "probe failed: AllCandidatesFailed"
        assert engine.requests[-1].request_id.startswith("readyz-probe-")
        engine.health = {"p1/m1": DOWN, "p2/m2": {"healthy": True}, "ollama/q": DOWN}
        again = httpx.get(f"{url}/readyz")
        assert again.status_code == 200
        assert again.json()["healthy"] == ["p2/m2"]


def test_probe_answer_makes_ready_and_is_cached() -> None:
    """With no candidate healthy, an answering probe makes it ready; it is not repeated at once."""
    engine = StubEngine()
    engine.health = {"p1/m1": DOWN, "p2/m2": DOWN, "ollama/q": DOWN}
    with running_server(create_app(engine)) as url:
        assert httpx.get(f"{url}/readyz").json()["detail"] == "probe answered by p1/m1"
        assert httpx.get(f"{url}/readyz").status_code == 200
    (probe,) = engine.requests
    assert probe.request_id.startswith("readyz-probe-")


def test_each_probe_has_its_own_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes are audited like requests: each has its own id, so an incident lookup by id
    shows one probe, not every probe since start-up merged into one."""
    monkeypatch.setattr(_readiness, "PROBE_TTL_S", 0.0)  # no cache: every /readyz probes
    engine = StubEngine()
    engine.health = {"p1/m1": DOWN, "p2/m2": DOWN, "ollama/q": DOWN}
    with running_server(create_app(engine)) as url:
        for _ in range(3):
            assert httpx.get(f"{url}/readyz").status_code == 200
    ids = [r.request_id for r in engine.requests]
    assert len(ids) == 3
    assert len(set(ids)) == 3


def test_cooldown_gauge_from_engine_health() -> None:
    """/metrics shows which candidates the engine reports cooling."""
    engine = StubEngine()
    engine.health = {
        "p1/m1": {"healthy": False, "state": "cooling", "until": 2e9},
        "p2/m2": {"healthy": True, "state": "ready", "until": None},
    }
    with running_server(create_app(engine)) as url:
        text = httpx.get(f"{url}/metrics").text
    assert 'openclaw_failover_active_cooldowns{model="m1",provider="p1"} 1.0' in text
    assert 'openclaw_failover_active_cooldowns{model="m2",provider="p2"} 0.0' in text
