"""state.namespace: a namespace that could overlap another (':'), or holds whitespace or glob
characters, is refused by the config check and by the Redis store itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from openclaw_failover.cli import app
from openclaw_failover.config import LoadResult
from openclaw_failover.config._schema import check_schema
from openclaw_failover.stores.redis import RedisStateStore, shared_fingerprint_salt
from tests.fixtures.config import base_openclaw, base_standalone
from tests.fixtures.redis_server import RedisServer

BLOCK = "plugins.entries.openclaw-failover.config"
#: Each refused namespace with the character the finding must name.
REFUSED = [("a:h", "':'"), ("gw eu", "' '"), ("gw\tx", "'\\t'"), ("gw*", "'*'"), ("g[1]", "'['")]


#: A Redis nobody listens on: refused namespaces are found before any connection.
REDIS_URL = "redis://127.0.0.1:1/0"


def with_namespace(namespace: str, backend: str = "redis") -> dict[str, Any]:
    """OpenClaw's own file whose plugin block sets state.namespace (on Redis by default)."""
    doc = base_openclaw()
    state: dict[str, Any] = {"backend": backend, "namespace": namespace}
    if backend == "redis":
        state["url"] = REDIS_URL
    doc["plugins"]["entries"]["openclaw-failover"]["config"]["state"] = state
    return doc


def namespace_problems(result: LoadResult) -> list[Any]:
    """The findings about state.namespace, whatever their rule."""
    return [p for p in result.problems if p.path.endswith("state.namespace")]


@pytest.mark.parametrize(("namespace", "char"), REFUSED)
def test_config_refuses_a_namespace_that_could_overlap(
    load_doc: Callable[..., LoadResult], namespace: str, char: str
) -> None:
    """One error at state.namespace naming the value, the character and what is expected."""
    result = load_doc(with_namespace(namespace), name="openclaw.json")
    assert result.table is None
    (problem,) = namespace_problems(result)
    assert (problem.rule, problem.path, problem.severity) == (
        "state.namespace",
        f"{BLOCK}.state.namespace",
        "error",
    )
    assert repr(namespace) in problem.found
    assert char in problem.found
    assert "without ':', whitespace or the glob characters" in problem.expected
    assert '"a:h"' in problem.expected  # says why: "a" would see "a:h"'s cooldowns


def test_config_refuses_a_namespace_made_by_substitution(
    load_doc: Callable[..., LoadResult],
) -> None:
    """A ${VAR} that brings in a ':' is caught after substitution (the schema sees ${VAR})."""
    doc = base_standalone()
    state = {"backend": "redis", "url": REDIS_URL, "namespace": "${GW_NAMESPACE}"}
    doc["failover"] = {"state": state}
    result = load_doc(doc, env={"GW_NAMESPACE": "eu:h"})
    (problem,) = namespace_problems(result)
    assert problem.rule == "state.namespace"
    assert problem.path == "failover.state.namespace"
    assert "'eu:h'" in problem.found


@pytest.mark.parametrize("namespace", [None, "openclaw-failover", "gw-eu.2_b", "ns-${UNSET}"])
def test_config_accepts_plain_namespaces(
    load_doc: Callable[..., LoadResult], namespace: str | None
) -> None:
    """The default and plain names load; a literal ${VAR} left unset is only a warning."""
    doc = base_standalone()
    doc["failover"] = {"state": {} if namespace is None else {"namespace": namespace}}
    result = load_doc(doc)
    assert result.table is not None, [p.message for p in result.errors]
    assert not namespace_problems(result) or namespace == "ns-${UNSET}"
    expected = "openclaw-failover" if namespace is None else namespace
    assert result.table.settings.state.namespace == expected


@pytest.mark.parametrize(("namespace", "char"), REFUSED)
def test_other_backends_and_the_schema_leave_the_namespace_alone(
    load_doc: Callable[..., LoadResult], namespace: str, char: str
) -> None:
    """Only Redis uses the namespace: with backend file a config written before the rule
    still loads, and the schema (OpenClaw's configSchema too, so OpenClaw itself would refuse
    to start) has no pattern for it."""
    del char
    assert check_schema(with_namespace(namespace, "file"), "openclaw") == []
    result = load_doc(with_namespace(namespace, "file"), name="openclaw.json")
    assert not namespace_problems(result)
    assert result.table is not None, [p.message for p in result.errors]


def test_validate_command_reports_it(
    write_config: Callable[..., Path], config_env: dict[str, str]
) -> None:
    """`validate` exits 2 and prints the finding once, with what was found and expected."""
    path = write_config(with_namespace("a:h"), "openclaw.json")
    result = CliRunner().invoke(app, ["validate", "--config", str(path)], env=config_env)
    assert result.exit_code == 2, result.output
    assert f"error [state.namespace] {BLOCK}.state.namespace" in result.output
    assert "schema.pattern" not in result.output  # the rule says it better
    assert "found:    the namespace 'a:h', which holds ':'" in result.output


@pytest.mark.parametrize(("namespace", "char"), [("a:h", "':'"), ("", "an empty string")])
def test_store_refuses_an_overlapping_namespace(namespace: str, char: str) -> None:
    """The store's constructor raises ValueError naming the namespace and the expectation."""
    with pytest.raises(ValueError, match="namespace") as caught:
        RedisStateStore("redis://127.0.0.1:1/0", namespace=namespace)
    assert char in str(caught.value)
    assert "expected a non-empty name without ':' or whitespace" in str(caught.value)


@pytest.mark.redis
async def test_store_on_a_live_server_keeps_namespaces_apart(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """Namespace "ns:h", whose keys namespace "ns" would list as its own, is refused; the
    salt lookup of such a namespace writes nothing to Redis."""
    store = RedisStateStore(redis_server.url, namespace=redis_namespace)
    try:
        with pytest.raises(ValueError, match=f"{redis_namespace}:h"):
            RedisStateStore(redis_server.url, namespace=f"{redis_namespace}:h")
        salt = shared_fingerprint_salt(
            redis_server.url, namespace=f"{redis_namespace}:h", local=b"s" * 32
        )
        assert salt == b"s" * 32
        client = redis.Redis.from_url(redis_server.url)
        try:
            assert client.keys(f"{redis_namespace}:*") == []
        finally:
            client.close()
        assert await store.items() == {}
    finally:
        await store.aclose()
