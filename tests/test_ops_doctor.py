"""doctor: each check's findings and fixes, and the exit code by the worst one."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import httpx

from openclaw_failover._doctor import (
    Finding,
    check_audit,
    check_config,
    check_keys,
    check_local,
    check_proxy,
    check_state,
    check_wiring,
    worst_exit,
)
from openclaw_failover._errors import Problem
from openclaw_failover._model import AuditSettings, ProxySettings, Secret, Settings, StateSettings
from openclaw_failover._ports import Health
from openclaw_failover._status import local_health
from openclaw_failover.stores.file import FileStateStore
from openclaw_failover.stores.memory import MemoryStateStore
from openclaw_failover.stores.redis import RedisStateStore

from .test_status_gather import CONFIG_KEY, FakeListing, make_table

NOW = 1_800_000_000.0


def test_config_problems_become_findings_with_fixes() -> None:
    """An error problem is an error finding with its fix; no errors adds one ok line."""
    bad = Problem("auth.no-usable-key", "providers.openai.auth", "no key", "a key", "export X")
    findings = check_config((bad,), "/c.json", "openclaw")
    assert [(f.level, f.fix) for f in findings] == [("error", "export X")]
    warn = replace(bad, severity="warning")
    assert [f.level for f in check_config((warn,), "/c.json", "openclaw")] == ["ok", "warn"]


def test_keys_say_where_each_key_came_from_never_the_value() -> None:
    """Each profile names its source and variable; an unresolved one is an error."""
    findings = check_keys(make_table())
    text = " ".join(f.message for f in findings)
    assert "anthropic:main: key from env ANTHROPIC_API_KEY" in text
    assert any(f.level == "error" and "openai:0: no usable key" in f.message for f in findings)
    assert CONFIG_KEY not in text


async def test_state_flags_stale_probe_claims_and_day_long_cooldowns() -> None:
    """A probe claim left behind and a cooldown beyond a day are warnings with a clear fix."""
    store = MemoryStateStore()
    await store.update("k1", lambda _: Health(probe_owner="gw-2", probe_until=NOW - 600))
    await store.update(
        "k2",
        lambda _: Health(cooldown_until=NOW + 3 * 86400, cooldown_reason="billing", disabled=True),
    )
    findings = await check_state(make_table(), store, now=NOW)
    assert [f.level for f in findings] == ["ok", "warn", "warn"]
    assert "stale probe claim by gw-2" in findings[1].message
    assert "cooldowns clear" in findings[2].fix


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_proxy_ready_not_ready_and_absent() -> None:
    """200 on /readyz is ok (with the bearer token); 503 and a refused connect are warnings."""
    table = replace(make_table(), settings=Settings(proxy=ProxySettings(token=Secret("tok-1"))))
    seen: list[str] = []

    def ready(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return httpx.Response(200)

    async with _client(httpx.MockTransport(ready)) as client:
        assert [f.level for f in await check_proxy(table, client)] == ["ok"]
    assert seen == ["Bearer tok-1"]
    async with _client(httpx.MockTransport(lambda _: httpx.Response(503))) as client:
        assert "not ready" in (await check_proxy(table, client))[0].message

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(httpx.MockTransport(refuse)) as client:
        finding = (await check_proxy(table, client))[0]
    assert (finding.level, "serve" in finding.fix) == ("warn", True)


def test_wiring_checks_provider_plugin_and_skill(tmp_path: Path) -> None:
    """OpenClaw's file needs the failover provider on our port, the plugin entry and the skill."""
    table = make_table()
    raw = {
        "models": {"providers": {"failover": {"baseUrl": "http://127.0.0.1:8787/v1"}}},
        "plugins": {"entries": {"openclaw-failover": {"enabled": True}}},
    }
    skill = tmp_path / "skills" / "openclaw-failover"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("x")
    assert [f.level for f in check_wiring(table, raw, workspace=tmp_path)] == ["ok", "ok", "ok"]
    wrong = {"models": {"providers": {"failover": {"baseUrl": "http://127.0.0.1:9999/v1"}}}}
    levels = [f.level for f in check_wiring(table, wrong, workspace=tmp_path / "none")]
    assert levels == ["error", "warn", "warn"]
    standalone = replace(table, kind="standalone")
    assert check_wiring(standalone, {}, workspace=tmp_path)[0].level == "ok"


def test_audit_writable_and_private(tmp_path: Path) -> None:
    """A new audit path under a writable folder is ok; a world-readable file is a warning."""
    path = tmp_path / "failover" / "audit.jsonl"
    table = replace(make_table(), settings=Settings(audit=AuditSettings(path=str(path))))
    assert check_audit(table)[0].level == "ok"
    path.parent.mkdir()
    path.write_text("")
    path.chmod(0o644)
    assert check_audit(table)[0].fix == f"chmod 600 {path}"


def test_exit_code_is_the_worst_finding() -> None:
    """ok 0, any warning 1, any error 2."""
    ok, warn, err = (Finding("x", level, "m") for level in ("ok", "warn", "error"))
    assert (worst_exit([ok]), worst_exit([ok, warn]), worst_exit([warn, err, ok])) == (0, 1, 2)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_state_is_an_error_when_redis_is_unreachable_and_the_store_degraded() -> None:
    """A Redis store that fell back to local state is an error naming the store (password
    masked), not '0 state entries readable'."""
    url = f"redis://:pw-REDIS-SECRET@127.0.0.1:{_closed_port()}/0"
    state = StateSettings(backend="redis", url=Secret(url))
    table = replace(make_table(), settings=Settings(state=state))
    store = RedisStateStore(url, namespace="doctor-test", on_unavailable="local")
    try:
        findings = await check_state(table, store, now=NOW)
    finally:
        await store.aclose()
    assert [f.level for f in findings] == ["error"]
    message = findings[0].message
    assert "redis at redis://***@127.0.0.1:" in message
    assert "unreachable" in message
    assert "pw-REDIS-SECRET" not in message + findings[0].fix
    assert worst_exit(findings) == 2


async def test_local_tier_url_credentials_are_masked() -> None:
    """A local baseUrl with user:password@ is shown as ***@ by doctor and in status' JSON."""
    table = make_table()
    ollama = replace(table.providers["ollama"], base_url="http://admin:sk-OLLAMAPASS@127.0.0.1:9/")
    table = replace(table, providers=MappingProxyType({**table.providers, "ollama": ollama}))
    refused = FakeListing(httpx.ConnectError("refused"))
    findings = await check_local(table, {"ollama": refused})
    assert [f.level for f in findings] == ["warn"]
    assert "ollama at http://***@127.0.0.1:9/ not reachable" in findings[0].message
    health = await local_health(ollama, "qwen3:8b", refused)
    assert health.to_json()["base_url"] == "http://***@127.0.0.1:9/"


async def test_a_degraded_file_store_is_named_with_a_disk_fix_not_redis(tmp_path: Path) -> None:
    """A file store whose journal cannot be read fell back to memory: doctor says so with the
    disk's reason and a disk fix, not 'start Redis or correct state.url'."""
    state = StateSettings(backend="file", directory=str(tmp_path))
    table = replace(make_table(), settings=Settings(state=state))
    store = FileStateStore(tmp_path, on_unavailable="local")
    (tmp_path / "state.journal").mkdir()  # a journal that cannot be opened as a file
    try:
        findings = await check_state(table, store, now=NOW)
    finally:
        await store.aclose()
    assert [f.level for f in findings] == ["error"]
    assert "unusable" in findings[0].message
    assert "Redis" not in findings[0].message + findings[0].fix
    assert "disk" in findings[0].fix
