"""FileStateStore when its disk fails (full, unreadable): onUnavailable "closed" refuses with a
clear StateStoreError; "local" serves memory, reports degraded and merges back forward-only."""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest

from openclaw_failover._errors import StateStoreError
from openclaw_failover._exchange import ChatRequest
from openclaw_failover._model import StateSettings
from openclaw_failover._ordering import model_key
from openclaw_failover._ports import Health, HealthUpdate
from openclaw_failover.stores import build_store
from openclaw_failover.stores.file import FileStateStore
from tests.fixtures.engine import Spec, error, make_engine, make_table

NOW = 1_800_000_000.0
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


class Disk:
    """Makes every ``os.write`` / ``os.pread`` to a file under one directory fail like a full
    (or broken) disk, while ``full`` / ``broken`` is set; other files are untouched."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.directory = str(directory.resolve())
        self.full = False
        self.broken = False
        self.short = False  # a disk filling up: a write takes only the first half
        self.only: str | None = None  # a name fragment: fail only files whose name has it
        real_write, real_pread = os.write, os.pread

        def write(fd: int, data: bytes) -> int:
            if self.full and self._mine(fd):
                raise OSError(errno.ENOSPC, NO_SPACE)
            if self.short and self._mine(fd):
                return real_write(fd, data[: len(data) // 2])
            return real_write(fd, data)

        def pread(fd: int, n: int, offset: int) -> bytes:
            if self.broken and self._mine(fd):
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return real_pread(fd, n, offset)

        monkeypatch.setattr(os, "write", write)  # the journal module calls os.write / os.pread
        monkeypatch.setattr(os, "pread", pread)

    def _mine(self, fd: int) -> bool:
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return False
        inside = path.startswith(self.directory + os.sep)
        return inside and (self.only is None or self.only in os.path.basename(path))


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Disk:
    """The state directory's disk, healthy until a test fills it."""
    return Disk(tmp_path, monkeypatch)


def cooling(until: float, reason: str = "rate_limit") -> Health:
    """A health cooling down until ``until``."""
    return Health(cooldown_until=until, cooldown_reason=reason, last_failure_at=NOW)


def cooling_to(until: float) -> HealthUpdate:
    """An update that sets a cooldown until ``until``."""
    return lambda _: cooling(until)


async def stored(directory: Path) -> dict[str, Health]:
    """What a fresh store (a process started now) reads from ``directory``."""
    fresh = FileStateStore(directory)
    try:
        return dict(await fresh.items())
    finally:
        await fresh.aclose()


async def test_closed_mode_names_the_directory_and_the_reason(tmp_path: Path, disk: Disk) -> None:
    """onUnavailable "closed", disk full: update raises StateStoreError naming both; no degrade."""
    store = FileStateStore(tmp_path, on_unavailable="closed")
    await store.update("p:a", lambda _: cooling(NOW + 10))
    disk.full = True
    with pytest.raises(StateStoreError) as raised:
        await store.update("p:b", lambda _: cooling(NOW + 10))
    assert str(tmp_path) in str(raised.value)
    assert NO_SPACE in str(raised.value)
    assert "closed" in str(raised.value)
    assert not store.degraded
    await store.aclose()


async def test_build_store_passes_on_unavailable_to_the_file_store(
    tmp_path: Path, disk: Disk
) -> None:
    """state.onUnavailable "closed" from the config reaches the file store built for it."""
    store = build_store(
        StateSettings(backend="file", directory=str(tmp_path), on_unavailable="closed")
    )
    await store.update("p:a", lambda _: cooling(NOW + 10))
    disk.full = True
    with pytest.raises(StateStoreError, match=NO_SPACE):
        await store.update("p:a", lambda _: cooling(NOW + 20))
    await store.aclose()


async def test_local_mode_keeps_answering_from_memory(
    tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    """onUnavailable "local", disk full: updates and snapshots go on in memory (seeded from
    the journal), degraded names the directory and reason, and one warning is logged."""
    store = FileStateStore(tmp_path)
    told: list[str | None] = []
    store.watch(told.append)
    await store.update("p:a", lambda _: cooling(NOW + 10))
    disk.full = True
    with caplog.at_level(logging.WARNING, logger="openclaw_failover"):
        assert await store.update("p:b", lambda _: cooling(NOW + 20)) == cooling(NOW + 20)
        assert await store.update("p:c", lambda _: cooling(NOW + 30)) == cooling(NOW + 30)
    seen = await store.snapshot(["p:a", "p:b", "p:c"])
    assert seen == {"p:a": cooling(NOW + 10), "p:b": cooling(NOW + 20), "p:c": cooling(NOW + 30)}
    assert store.degraded
    assert store.degraded_reason is not None
    assert str(tmp_path) in store.degraded_reason
    assert NO_SPACE in store.degraded_reason
    assert told == [store.degraded_reason]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert set(await stored(tmp_path)) == {"p:a"}  # nothing half-written reached the disk
    await store.aclose()


async def test_recovery_merges_local_writes_into_the_journal(
    tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    """When the disk takes writes again, the keys written in memory land in the journal (a new
    process sees them), degraded clears, watchers hear None and an info line is logged."""
    store = FileStateStore(tmp_path, retry_interval_s=0.0)
    told: list[str | None] = []
    store.watch(told.append)
    disk.full = True
    await store.update("p:b", lambda _: cooling(NOW + 20))
    await store.update("p:b", lambda old: old and replace(old, last_used_at=NOW))
    assert store.degraded
    disk.full = False
    with caplog.at_level(logging.INFO, logger="openclaw_failover"):
        await store.update("p:c", lambda _: cooling(NOW + 30))
    assert not store.degraded
    assert store.degraded_reason is None
    assert told[-1] is None
    assert any("writing to disk again" in r.getMessage() for r in caplog.records)
    on_disk = await stored(tmp_path)
    assert on_disk["p:b"].cooldown_until == NOW + 20
    assert on_disk["p:b"].last_used_at == NOW
    assert on_disk["p:c"] == cooling(NOW + 30)
    await store.aclose()


async def test_merge_never_moves_a_cooldown_backwards(tmp_path: Path, disk: Disk) -> None:
    """Merging back, the later cooldown_until wins on each key, whichever side holds it, and a
    success recorded in memory does not clear a cooldown another process wrote meanwhile."""
    store = FileStateStore(tmp_path, retry_interval_s=0.0)
    disk.full = True
    await store.update("p:disk-later", lambda _: cooling(NOW + 100, "timeout"))
    await store.update("p:mine-later", lambda _: cooling(NOW + 900, "billing"))
    await store.update("p:cleared-here", lambda _: Health(last_good_at=NOW))
    disk.full = False
    other = FileStateStore(tmp_path)  # another process, on a disk that works again
    await other.update("p:disk-later", lambda _: cooling(NOW + 500, "rate_limit"))
    await other.update("p:mine-later", lambda _: cooling(NOW + 300, "rate_limit"))
    await other.update("p:cleared-here", lambda _: cooling(NOW + 400, "overloaded"))
    await other.aclose()
    await store.update("p:unrelated", lambda _: Health(last_used_at=NOW))
    assert not store.degraded
    on_disk = await stored(tmp_path)
    assert on_disk["p:disk-later"].cooldown_until == NOW + 500
    assert on_disk["p:disk-later"].cooldown_reason == "rate_limit"
    assert on_disk["p:mine-later"].cooldown_until == NOW + 900
    assert on_disk["p:mine-later"].cooldown_reason == "billing"
    assert on_disk["p:cleared-here"].cooldown_until == NOW + 400
    assert on_disk["p:cleared-here"].last_good_at == NOW
    assert await store.snapshot(["p:mine-later"]) == {"p:mine-later": on_disk["p:mine-later"]}
    await store.aclose()


async def test_the_disk_is_tried_again_no_sooner_than_retry_interval(
    tmp_path: Path, disk: Disk
) -> None:
    """Degraded, the store does not touch the disk again before retry_interval_s has passed."""
    store = FileStateStore(tmp_path, retry_interval_s=3600.0)
    disk.full = True
    await store.update("p:a", lambda _: cooling(NOW + 10))
    disk.full = False
    await store.update("p:b", lambda _: cooling(NOW + 20))
    assert store.degraded
    assert await stored(tmp_path) == {}
    await store.aclose()  # closing tries once more: nothing written in memory is lost
    assert set(await stored(tmp_path)) == {"p:a", "p:b"}


async def test_unreadable_journal_degrades_a_local_store_and_refuses_a_closed_one(
    tmp_path: Path, disk: Disk
) -> None:
    """An I/O error reading the journal: "local" snapshots serve the last state read, "closed"
    raises StateStoreError naming the journal."""
    writer = FileStateStore(tmp_path)
    await writer.update("p:a", lambda _: cooling(NOW + 10))
    local, closed = FileStateStore(tmp_path), FileStateStore(tmp_path, on_unavailable="closed")
    assert await local.snapshot(["p:a"]) == {"p:a": cooling(NOW + 10)}
    await writer.update("p:b", lambda _: cooling(NOW + 20))  # both must read the journal again
    disk.broken = True
    assert await local.snapshot(["p:a", "p:b"]) == {"p:a": cooling(NOW + 10)}
    assert local.degraded_reason is not None
    assert os.strerror(errno.EIO) in local.degraded_reason
    with pytest.raises(StateStoreError, match=r"state\.journal"):
        await closed.snapshot(["p:a"])
    for store in (writer, local, closed):
        await store.aclose()


async def test_failed_compaction_keeps_the_record_and_the_journal(
    tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    """A compaction that cannot write its new file (disk full) is no outage: the update is
    written, the store is not degraded, no temp file is left and the journal stays whole."""
    store = FileStateStore(tmp_path, compact_min_bytes=0, on_unavailable="closed")
    await store.update("p:a", lambda _: cooling(NOW + 10))
    disk.full, disk.only = True, ".tmp-"
    for n in range(1, 7):
        await store.update("p:a", cooling_to(NOW + 10 + n))
    assert not store.degraded
    assert any("compaction failed" in r.getMessage() for r in caplog.records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.journal", "state.lock"]
    assert await stored(tmp_path) == {"p:a": cooling(NOW + 16)}
    await store.aclose()


async def test_a_short_write_never_replaces_the_journal_with_half_of_it(
    tmp_path: Path, disk: Disk
) -> None:
    """A disk filling up during a compaction (the new file takes half the data): the journal
    is not replaced by the truncated copy, and every key is still there."""
    store = FileStateStore(tmp_path, compact_min_bytes=0, on_unavailable="closed")
    for n in range(8):
        await store.update(f"p:{n}", cooling_to(NOW + n))
    disk.short, disk.only = True, ".tmp-"
    for n in range(40):  # the journal grows past 4x its live records: compactions are due
        await store.update("p:0", cooling_to(NOW + 100 + n))
    expected = {f"p:{n}": cooling(NOW + n) for n in range(1, 8)} | {"p:0": cooling(NOW + 139)}
    assert await stored(tmp_path) == expected
    await store.aclose()


async def test_engine_fails_over_while_the_journal_cannot_be_written(
    tmp_path: Path, disk: Disk
) -> None:
    """Disk full mid-incident: the primary's 500 still fails over to the fallback, which
    answers, and the cooldown kept in memory steers the next request."""
    table = make_table([Spec("p", "primary"), Spec("f", "fallback")])
    store = FileStateStore(tmp_path)
    rig = make_engine(table, store=store)  # type: ignore[arg-type]
    rig.upstream.set(error(500), model="primary")
    await store.update("p:running", lambda _: Health(last_used_at=NOW))  # the journal exists
    disk.full = True
    request = ChatRequest(body={"messages": [{"role": "user", "content": "hi"}]})
    meta, _ = await rig.engine.complete(request)
    assert meta.model == "fallback"
    assert store.degraded
    primary = model_key(table.route("auto").candidates[0])
    assert (await store.snapshot([primary]))[primary].cooldown_reason == "server_error"
    await rig.engine.complete(request)
    assert rig.upstream.models_called()[-1:] == ["fallback"]
    assert rig.upstream.models_called().count("primary") == 2
    await store.aclose()
