"""The startup warning about an unreadable state store names the readiness route the proxy
serves (/readyz), not one that answers 404."""

from __future__ import annotations

import logging
import re

import pytest

from openclaw_failover.proxy import create_app
from openclaw_failover.stores.redis import RedisStateStore
from tests.fixtures.engine import Spec, make_table
from tests.fixtures.proxy import running_server
from tests.fixtures.redis_server import free_port


def test_the_startup_warning_names_a_route_that_exists(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisStateStore(
        f"redis://127.0.0.1:{free_port()}/0", namespace="review4", on_unavailable="closed"
    )
    app = create_app(make_table([Spec("p", "m1")]), store=store)
    paths = {getattr(r, "path", "") for r in app.routes}
    with caplog.at_level(logging.WARNING, logger="openclaw_failover"), running_server(app):
        pass
    said = [r.getMessage() for r in caplog.records if "unavailable at startup" in r.getMessage()]
    assert len(said) == 1, caplog.text
    named = re.findall(r"GET (/\S+)", said[0])
    assert named, said[0]
    assert all(p in paths for p in named), (named, sorted(paths))
