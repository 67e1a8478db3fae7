"""/metrics shows how many audit records the proxy could not write."""

from __future__ import annotations

import httpx

from openclaw_failover._audit import JsonlAuditSink
from openclaw_failover.config import load_route_table
from openclaw_failover.proxy import create_app
from tests.fixtures.proxy import running_server
from tests.test_proxy_engine import ENV, write_config
from tests.test_proxy_metrics import Fakes, _sample, fakes

__all__ = ["fakes"]  # the fixture, used by name

HI = [{"role": "user", "content": "hi"}]
NAME = "openclaw_failover_audit_dropped_records"


def test_metrics_count_audit_records_not_written(tmp_path, fakes: Fakes) -> None:  # type: ignore[no-untyped-def]
    """An audit path that cannot be written (its folder is a file): the request is answered
    and /metrics says how many records were dropped (nothing outside the log did)."""
    path = write_config(tmp_path, fakes)
    env = {"HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"), **ENV}
    table = load_route_table(str(path), kind="standalone", environ=env).table
    assert table is not None
    (tmp_path / "blocker").write_text("x")
    sink = JsonlAuditSink(tmp_path / "blocker" / "audit.jsonl")
    try:
        with running_server(create_app(table, audit=sink, reload_poll_s=3600)) as url:
            reply = httpx.post(
                f"{url}/v1/chat/completions", json={"model": "auto", "messages": HI}, timeout=15
            )
            assert reply.status_code == 200
            assert sink.flush(10)
            text = httpx.get(f"{url}/metrics", timeout=15).text
    finally:
        sink.close()
    assert sink.dropped > 0
    assert _sample(text, NAME) == sink.dropped
