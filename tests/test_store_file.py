"""FileStateStore: permissions, journal repair, compaction, caching and error reporting."""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from openclaw_failover._errors import StateStoreError
from openclaw_failover._model import StateSettings
from openclaw_failover._ports import Health
from openclaw_failover.stores import FileStateStore, build_store
from openclaw_failover.stores._journal import PATH_RECHECK_S, record_line

NOW = 1_800_000_000.0


def bump(old: Health | None) -> Health:
    """One more rate_limit failure."""
    health = old or Health()
    n = health.failure_counts.get("rate_limit", 0) + 1
    return replace(health, failure_counts=MappingProxyType({"rate_limit": n}))


def count(health: Health | None) -> int:
    """The rate_limit counter (0 when absent)."""
    return 0 if health is None else health.failure_counts.get("rate_limit", 0)


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


async def test_directory_0700_and_files_0600(tmp_path: Path) -> None:
    """The store creates its folder 0700 and its journal and lock files 0600."""
    directory = tmp_path / "state" / "failover"
    store = FileStateStore(directory)
    await store.update("p:a", bump)
    await store.aclose()
    assert mode(directory) == 0o700
    assert {p.name: mode(p) for p in directory.iterdir()} == {
        "state.journal": 0o600,
        "state.lock": 0o600,
    }


async def test_reading_an_absent_store_creates_nothing(tmp_path: Path) -> None:
    """snapshot and items on a new directory return empty and write no journal."""
    store = FileStateStore(tmp_path / "s")
    assert await store.snapshot(["p:a"]) == {}
    assert await store.items() == {}
    assert not (tmp_path / "s" / "state.journal").exists()


async def test_build_store_file(tmp_path: Path) -> None:
    """build_store with backend "file" opens a FileStateStore on the directory."""
    store = build_store(StateSettings(backend="file", directory=str(tmp_path / "d")))
    assert isinstance(store, FileStateStore)
    assert store.directory == tmp_path / "d"


async def test_other_store_sees_updates_without_reopening(tmp_path: Path) -> None:
    """A store that already cached the state picks up records another store appended."""
    reader, writer = FileStateStore(tmp_path), FileStateStore(tmp_path)
    await writer.update("p:a", bump)
    assert count((await reader.snapshot(["p:a"]))["p:a"]) == 1
    await writer.update("p:a", bump)
    await writer.update("p:b", bump)
    assert {k: count(h) for k, h in (await reader.items()).items()} == {"p:a": 2, "p:b": 1}


async def test_torn_last_record_is_ignored_then_cut(tmp_path: Path) -> None:
    """Half a record at the end (a killed append) is invisible and cut by the next write."""
    store = FileStateStore(tmp_path)
    await store.update("p:a", bump)
    journal = tmp_path / "state.journal"
    good = journal.read_bytes()
    torn = record_line("p:b", Health(last_used_at=NOW))
    with journal.open("ab") as f:
        f.write(torn[: len(torn) // 2])
    fresh = FileStateStore(tmp_path)
    assert set(await fresh.items()) == {"p:a"}
    await fresh.update("p:c", bump)
    assert journal.read_bytes().startswith(good)
    assert set(await FileStateStore(tmp_path).items()) == {"p:a", "p:c"}
    assert torn[: len(torn) // 2] not in journal.read_bytes()


async def test_damaged_record_is_skipped(tmp_path: Path) -> None:
    """A whole line failing its checksum is skipped; the records around it still count."""
    journal = tmp_path / "state.journal"
    lines = [record_line(None, None), record_line("p:a", Health(last_used_at=NOW))]
    bad = bytearray(record_line("p:b", Health(last_used_at=NOW)))
    bad[20] ^= 0x01
    lines += [bytes(bad), record_line("p:c", Health(last_used_at=NOW))]
    journal.write_bytes(b"".join(lines))
    assert set(await FileStateStore(tmp_path).items()) == {"p:a", "p:c"}


async def test_compaction_keeps_state_and_shrinks_the_journal(tmp_path: Path) -> None:
    """Past its threshold the journal is rewritten to one record per key, atomically."""
    store = FileStateStore(tmp_path, compact_min_bytes=4096)
    other = FileStateStore(tmp_path)
    assert await other.items() == {}
    await store.update("p:0", bump)
    with (tmp_path / "state.journal").open("rb") as first:  # held open: its inode stays taken
        for n in range(1, 200):
            await store.update(f"p:{n % 3}", bump)
        assert (tmp_path / "state.journal").stat().st_ino != os.fstat(first.fileno()).st_ino
    assert (tmp_path / "state.journal").stat().st_size < 4096
    expected = {"p:0": 67, "p:1": 67, "p:2": 66}
    assert {k: count(h) for k, h in (await other.items()).items()} == expected
    await other.update("p:0", bump)
    assert count((await store.snapshot(["p:0"]))["p:0"]) == 68
    assert not list(tmp_path.glob("*.tmp-*"))


async def test_leftover_compaction_temp_is_ignored_and_cleaned(tmp_path: Path) -> None:
    """A temp file from a killed compaction is never read, and the next compaction removes it."""
    (tmp_path / "state.journal.tmp-999999").write_bytes(record_line("p:ghost", Health()))
    store = FileStateStore(tmp_path, compact_min_bytes=1024)
    for _ in range(20):
        await store.update("p:a", bump)
    assert set(await store.items()) == {"p:a"}
    assert not (tmp_path / "state.journal.tmp-999999").exists()


async def test_deleting_a_key_survives_reopen(tmp_path: Path) -> None:
    """A None update is a tombstone record: the key stays gone for every later reader."""
    store = FileStateStore(tmp_path)
    await store.update("p:a", bump)
    await store.update("p:a", lambda _old: None)
    assert await FileStateStore(tmp_path).items() == {}


async def test_unchanged_update_writes_nothing(tmp_path: Path) -> None:
    """An update whose result equals the stored value appends no record."""
    store = FileStateStore(tmp_path)
    await store.update("p:a", lambda _o: Health(last_used_at=NOW))
    size = (tmp_path / "state.journal").stat().st_size
    await store.update("p:a", lambda old: old)
    assert (tmp_path / "state.journal").stat().st_size == size


async def test_unusable_directory_is_a_state_store_error(tmp_path: Path) -> None:
    """onUnavailable "closed": a file where the directory should be gives StateStoreError
    naming the path."""
    (tmp_path / "blocker").write_text("x")
    store = FileStateStore(tmp_path / "blocker" / "state", on_unavailable="closed")
    with pytest.raises(StateStoreError, match="blocker"):
        await store.update("p:a", bump)


async def test_lock_held_too_long_is_a_state_store_error(tmp_path: Path) -> None:
    """onUnavailable "closed": if another holder keeps the lock past lock_timeout_s, update
    fails with a clear error."""
    import fcntl

    store = FileStateStore(tmp_path, lock_timeout_s=0.05, on_unavailable="closed")
    await store.update("p:a", bump)
    fd = os.open(tmp_path / "state.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(StateStoreError, match="lock held"):
            await store.update("p:a", bump)
    finally:
        os.close(fd)
    assert count(await store.update("p:a", bump)) == 2


async def test_aclose_flushes_and_store_reopens(tmp_path: Path) -> None:
    """After aclose the same object can be used again; nothing written is lost."""
    store = FileStateStore(tmp_path)
    await store.update("p:a", bump)
    await store.aclose()
    await store.update("p:a", bump)
    assert count((await FileStateStore(tmp_path).snapshot(["p:a"]))["p:a"]) == 2


async def test_file_store_fixture(file_store: FileStateStore, tmp_path: Path) -> None:
    """The file_store fixture lives under tmp_path/failover and persists what it stores."""
    await file_store.update("p:a", bump)
    assert file_store.directory == tmp_path / "failover"
    assert count((await FileStateStore(tmp_path / "failover").snapshot(["p:a"]))["p:a"]) == 1


async def test_another_stores_compaction_is_seen_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that trusts its open journal by size, and read it between the writer's append
    and the compaction that follows it, still sees the next write at once: the replaced file
    grows by a marker. The reader's clock stands still, so the path recheck never comes due."""
    from openclaw_failover.stores import _journal

    monkeypatch.setattr(_journal, "_monotonic", lambda: 1000.0)
    reader = FileStateStore(tmp_path)
    writer = FileStateStore(tmp_path, compact_min_bytes=1024)
    compact = _journal.Journal.compact
    compactions: list[int] = []

    def read_then_compact(journal: _journal.Journal) -> None:
        reader._journal.refresh()  # what a snapshot in another process does at this moment
        compactions.append(len(reader._journal.state))
        compact(journal)

    monkeypatch.setattr(_journal.Journal, "compact", read_then_compact)
    for n in range(1, 40):
        await writer.update("p:a", bump)
        assert count((await reader.snapshot(("p:a",)))["p:a"]) == n
    assert compactions  # it did compact, with the reader looking in between


async def test_a_journal_replaced_by_hand_is_seen_within_the_recheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal swapped in with no marker (by hand, or by an older version) is looked up again
    once ``PATH_RECHECK_S`` has passed; a removed one reads as empty the same way."""
    from openclaw_failover.stores import _journal

    clock = [1000.0]
    monkeypatch.setattr(_journal, "_monotonic", lambda: clock[0])
    reader, writer = FileStateStore(tmp_path), FileStateStore(tmp_path)
    await writer.update("p:a", bump)
    for _ in range(2):  # the first look maps the write counter, the second reads it
        assert set(await reader.snapshot(("p:a", "p:b"))) == {"p:a"}
    swapped = tmp_path / "swap"
    swapped.write_bytes(record_line(None, None) + record_line("p:b", Health(last_used_at=NOW)))
    os.replace(swapped, tmp_path / "state.journal")
    assert set(await reader.snapshot(("p:a", "p:b"))) == {"p:a"}  # trusted a little longer
    clock[0] += _journal.PATH_RECHECK_S
    assert set(await reader.snapshot(("p:a", "p:b"))) == {"p:b"}
    (tmp_path / "state.journal").unlink()
    clock[0] += _journal.PATH_RECHECK_S
    assert await reader.snapshot(("p:a", "p:b")) == {}


async def test_a_snapshot_with_nothing_written_makes_no_system_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the write counter is mapped, a snapshot of an unchanged store reads it and nothing
    else; a write by another store moves it, and the next snapshot reads the journal."""
    reader, writer = FileStateStore(tmp_path), FileStateStore(tmp_path)
    await writer.update("p:a", bump)
    for _ in range(2):  # the first look maps the counter, the second reads it
        await reader.snapshot(("p:a",))
    calls: list[str] = []
    for name in ("stat", "fstat", "lseek", "pread", "open"):
        real = getattr(os, name)

        def counted(*args: object, _real: object = real, _name: str = name) -> object:
            calls.append(_name)
            return _real(*args)  # type: ignore[operator]

        monkeypatch.setattr(os, name, counted)
    for _ in range(5):
        assert count((await reader.snapshot(("p:a",)))["p:a"]) == 1
    assert calls == []
    await writer.update("p:a", bump)
    calls.clear()
    assert count((await reader.snapshot(("p:a",)))["p:a"]) == 2
    assert "stat" in calls  # the counter moved: the journal's path was looked up


async def test_a_record_appended_without_a_count_is_seen_within_the_recheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer killed between its append and its count leaves a record the counter does not
    announce: a trusting reader finds it at its next look at the journal's path."""
    from openclaw_failover.stores import _journal

    clock = [1000.0]
    monkeypatch.setattr(_journal, "_monotonic", lambda: clock[0])
    reader, writer = FileStateStore(tmp_path), FileStateStore(tmp_path)
    await writer.update("p:a", bump)
    for _ in range(2):
        assert set(await reader.snapshot(("p:a", "p:b"))) == {"p:a"}
    with (tmp_path / "state.journal").open("ab") as journal:
        journal.write(record_line("p:b", Health(last_used_at=NOW)))
    clock[0] += _journal.PATH_RECHECK_S
    assert set(await reader.snapshot(("p:a", "p:b"))) == {"p:a", "p:b"}


async def test_a_removed_lock_file_is_counted_anew(tmp_path: Path) -> None:
    """The lock file (and its counter) removed by hand: the next writer makes a new one, and
    every write stays visible to a reader that had the old one mapped."""
    reader, writer = FileStateStore(tmp_path), FileStateStore(tmp_path)
    await writer.update("p:a", bump)
    for _ in range(2):
        await reader.snapshot(("p:a",))
    await writer.aclose()  # releases its lock file descriptor
    (tmp_path / "state.lock").unlink()
    await writer.update("p:a", bump)
    assert (tmp_path / "state.lock").stat().st_size == 8
    assert count((await writer.snapshot(("p:a",)))["p:a"]) == 2
    fresh = FileStateStore(tmp_path)
    assert count((await fresh.snapshot(("p:a",)))["p:a"]) == 2
    await asyncio.sleep(PATH_RECHECK_S)  # the old mapping never moves: the path look finds it
    assert count((await reader.snapshot(("p:a",)))["p:a"]) == 2
    await writer.update("p:a", bump)
    for _ in range(2):  # remapped at that look; counted from here on
        await reader.snapshot(("p:a",))
    await writer.update("p:a", bump)
    assert count((await reader.snapshot(("p:a",)))["p:a"]) == 4
