"""serve says at startup when its state store cannot be read, instead of staying silent until
the first request fails (onUnavailable "closed") or quietly serving on local state ("local")."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from openclaw_failover.proxy import _app as app_module
from openclaw_failover.proxy import create_app
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.stores.redis import RedisStateStore
from tests.fixtures.engine import Spec, make_table
from tests.fixtures.proxy import running_server
from tests.fixtures.redis_server import free_port


def _start(store: object, caplog: pytest.LogCaptureFixture) -> list[str]:
    app = create_app(make_table([Spec("p", "m1")]), store=store)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="openclaw_failover"), running_server(app):
        pass
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("mode", ["closed", "local"])
def test_a_redis_that_is_down_is_named_at_startup(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:hunter2-FAKE-pw@127.0.0.1:{free_port()}/0"
    store = RedisStateStore(url, namespace="startup-test", on_unavailable=mode)
    said = [m for m in _start(store, caplog) if "state store unavailable at startup" in m]
    assert len(said) == 1, caplog.text
    assert "redis unavailable" in said[0]
    expected = "no request is routed" if mode == "closed" else "this process's own state"
    assert expected in said[0]
    assert "hunter2" not in caplog.text


def test_a_readable_store_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    said = _start(MemoryStateStore(), caplog)
    assert not [m for m in said if "state store" in m]


class _Hanging(MemoryStateStore):
    """A store whose reads never answer (a Redis that accepts and then hangs)."""

    async def snapshot(self, keys: Any) -> Any:
        await asyncio.Event().wait()


def test_a_store_that_hangs_is_named_with_what_to_do(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "STARTUP_STORE_CHECK_S", 0.2)
    said = [m for m in _start(_Hanging(), caplog) if "did not answer" in m]
    assert len(said) == 1, caplog.text
    assert "within 0.2 s at startup" in said[0]
    assert "openclaw-failover doctor" in said[0]
