"""A redis url the client cannot parse is a state.redis-url finding at its path, not a crash."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openclaw_failover.cli import app
from tests.fixtures.config import base_standalone

PASSWORD = "s3cret-redis-pw-7Hq"
BAD_URLS = [
    f"redis://:{PASSWORD}@localhost:abc/0",  # a port that is not a number
    f"rediss://u:{PASSWORD}@[::1/0",  # an unclosed IPv6 bracket
    f"memcached://:{PASSWORD}@127.0.0.1/0",  # a scheme redis does not speak
]


def _doc(url: str) -> str:
    doc = base_standalone()
    doc["failover"] = {"state": {"backend": "redis", "url": url}}
    return json.dumps(doc)


@pytest.mark.parametrize("url", BAD_URLS)
def test_unparseable_redis_url_is_a_finding(url, load_doc):
    """load_route_table returns the finding at failover.state.url instead of raising."""
    pytest.importorskip("redis")
    result = load_doc(_doc(url))
    assert result.table is None
    (problem,) = [p for p in result.errors if p.rule == "state.redis-url"]
    assert problem.path == "failover.state.url"
    assert PASSWORD not in problem.message


@pytest.mark.parametrize("url", BAD_URLS)
def test_validate_names_the_url_not_kind(url, write_config, config_env):
    """validate exits 2 naming state.url; it used to blame --kind and print only the raw error."""
    pytest.importorskip("redis")
    path = write_config(_doc(url))
    result = CliRunner().invoke(app, ["validate", "--json", "--config", str(path)], env=config_env)
    assert result.exit_code == 2, result.output
    assert "--kind" not in result.output
    report = json.loads(result.output)
    assert [p["path"] for p in report["problems"] if p["rule"] == "state.redis-url"] == [
        "failover.state.url"
    ]
    assert PASSWORD not in result.output
