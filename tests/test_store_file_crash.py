"""FileStateStore under real processes: no lost update across 4 writers, and kill -9 safety.

``OPENCLAW_FAILOVER_SOAK_S`` sets the multi-process soak's duration (default 10 s);
``OPENCLAW_FAILOVER_KILLS`` the number of SIGKILLed writers (default 100).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pytest

from openclaw_failover._ports import Health
from openclaw_failover.stores import FileStateStore
from tests.test_store_file import bump, count

pytestmark = pytest.mark.slow  # a 10 s multi-process soak and 100 forked writers

ROOT = Path(__file__).resolve().parents[1]
SOAK_S = float(os.environ.get("OPENCLAW_FAILOVER_SOAK_S", "10"))
KILLS = int(os.environ.get("OPENCLAW_FAILOVER_KILLS", "100"))
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Drive a store coroutine that never suspends (the file store does no awaiting)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the store suspended")


SOAK_WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from tests.test_store_file_crash import bump
    from openclaw_failover.stores import FileStateStore

    async def main() -> None:
        directory, name, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
        store = FileStateStore(directory, compact_min_bytes=32768)
        done = 0
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            await store.update("p:shared", bump)
            await store.update("p:" + name, bump)
            await store.snapshot(["p:shared", "p:" + name])
            done += 1
        await store.aclose()
        print(json.dumps({"name": name, "done": done}))

    asyncio.run(main())
    """
)


def test_four_processes_lose_no_update(tmp_path: Path) -> None:
    """4 processes updating a shared and an own key for SOAK_S seconds lose no increment."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SOAK_WORKER, str(tmp_path), f"w{n}", str(SOAK_S)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    reports = [json.loads(p.communicate(timeout=SOAK_S + 120)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    items = asyncio.run(FileStateStore(tmp_path).items())
    done = {r["name"]: r["done"] for r in reports}
    assert count(items["p:shared"]) == sum(done.values())
    assert {n: count(items[f"p:{n}"]) for n in done} == done
    assert min(done.values()) > 0
    print(f"4 processes, {SOAK_S:g} s: {sum(done.values())} rounds of 2 updates + 1 snapshot")


def _writer(directory: Path, pipe: int, start: int) -> None:
    """Child: update forever, reporting each acknowledged counter value on ``pipe``."""
    store = FileStateStore(directory, compact_min_bytes=4 << 20, fsync_interval_s=3600)
    keys = [f"p:{n}" for n in range(8)]
    n = start
    while True:
        run(store.update("p:0", _setter(_value(n))))
        for key in keys[1:]:
            run(store.update(key, bump))
        os.write(pipe, struct.pack("<Q", n))  # every key now holds round n
        n += 1


def _setter(value: Health) -> Callable[[Health | None], Health | None]:
    """An update that stores ``value`` whatever was there."""
    return lambda _old: value


def _value(n: int) -> Health:
    return Health(
        last_used_at=float(n),
        failure_counts=MappingProxyType({"rate_limit": n}),
        probe_owner="x" * 400_000,  # a large record: a kill lands inside its write()
    )


def _last_ack(pipe: int) -> int | None:
    data = b""
    while chunk := os.read(pipe, 65536):
        data += chunk
    whole = len(data) // 8 * 8
    return struct.unpack("<Q", data[whole - 8 : whole])[0] if whole else None


def test_sigkilled_writers_leave_a_readable_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A writer SIGKILLed at a random moment, KILLS times: the store always reads back whole,
    no acknowledged update is missing, the journal stays 0600 and a new writer carries on."""
    caplog.set_level(logging.WARNING, logger="openclaw_failover.stores.file")
    rng = random.Random(1234)
    acknowledged = 0
    for _ in range(KILLS):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            os.close(read_end)
            try:
                _writer(tmp_path, write_end, acknowledged)
            finally:
                os._exit(0)
        os.close(write_end)
        time.sleep(rng.uniform(0.002, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        last = _last_ack(read_end)
        os.close(read_end)
        store = FileStateStore(tmp_path)
        items = run(store.items())
        stored = count(items.get("p:0"))
        assert stored >= (last if last is not None else acknowledged), (stored, last, acknowledged)
        assert all(isinstance(h, Health) for h in items.values())
        acknowledged = max(acknowledged, stored)
        run(store.update("p:check", bump))
        run(store.aclose())
    journal = tmp_path / "state.journal"
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    final = run(FileStateStore(tmp_path).items())
    assert count(final["p:check"]) == KILLS
    assert all(_valid(line) for line in journal.read_bytes().splitlines())
    torn = sum("torn" in r.getMessage() for r in caplog.records)
    print(f"{KILLS} kills, {torn} landed inside a write (torn record cut)")
    if KILLS >= 100:
        assert torn >= 1, "no kill landed inside a write; the test lost its teeth"


def _valid(line: bytes) -> bool:
    """Whether one journal line carries a matching CRC-32."""
    return int(line[:8], 16) == zlib.crc32(line[9:])
