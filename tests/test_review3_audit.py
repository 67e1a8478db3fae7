"""Review of the audit writer: copies above a lowered ``keep``; how the report finds copies."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from openclaw_failover._audit import JsonlAuditSink, read_audit
from openclaw_failover._report import audit_files
from tests.test_audit_sink import record


def rotate_once(path: Path, keep: int) -> JsonlAuditSink:
    """A closed sink with ``keep`` that rotated ``path`` once (it held one line already)."""
    sink = JsonlAuditSink(path, max_bytes=10, keep=keep)
    sink.emit(record(99))
    sink.close()
    return sink


@pytest.mark.parametrize("keep", [2, 0])
def test_a_lowered_keep_removes_the_copies_above_it_at_the_next_rotation(
    tmp_path: Path, keep: int
) -> None:
    """After keep 5 -> ``keep``, the next rotation removes copies keep+1..5 (they stayed for
    ever, and the report kept reading them) and no file not named as a copy."""
    path = tmp_path / "audit.jsonl"
    for n in range(1, 6):
        path.with_name(f"audit.jsonl.{n}").write_text(f'{{"copy": {n}}}\n')
    path.write_text('{"live": 1}\n')
    others = ["audit.jsonl.07", "audit.jsonl.9.bak", "audit.jsonl.x", "audit.jsonlx.9", "b.jsonl.9"]
    for name in others:
        (tmp_path / name).write_text("not a copy\n")
    sink = rotate_once(path, keep)
    assert sink.dropped == 0
    kept = [f"audit.jsonl.{n}" for n in range(keep, 0, -1)]
    assert [p.name for p in audit_files(path)] == [*kept, "audit.jsonl"]
    if keep:
        assert path.with_name("audit.jsonl.1").read_text() == '{"live": 1}\n'
        assert path.with_name("audit.jsonl.2").read_text() == '{"copy": 1}\n'
    assert all((tmp_path / name).read_text() == "not a copy\n" for name in others)


def test_a_directory_or_link_named_as_a_copy_above_keep_stays(tmp_path: Path) -> None:
    """Only regular files are removed: a directory audit.jsonl.3, a link audit.jsonl.4 and the
    file it points to stay."""
    path = tmp_path / "audit.jsonl"
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the sink's\n")
    (tmp_path / "audit.jsonl.3").mkdir()
    (tmp_path / "audit.jsonl.4").symlink_to(outside)
    path.with_name("audit.jsonl.5").write_text("{}\n")
    path.write_text('{"live": 1}\n')
    sink = rotate_once(path, keep=1)
    assert sink.dropped == 0
    assert (tmp_path / "audit.jsonl.3").is_dir()
    assert (tmp_path / "audit.jsonl.4").is_symlink()
    assert outside.read_text() == "not the sink's\n"
    assert not path.with_name("audit.jsonl.5").exists()


def test_a_copy_that_cannot_be_removed_neither_stops_rotation_nor_drops_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An unlink that fails on a copy above keep is logged; the rotation and the batch go on."""
    path = tmp_path / "audit.jsonl"
    path.with_name("audit.jsonl.3").write_text("{}\n")
    path.write_text('{"live": 1}\n')
    real_unlink = os.unlink

    def refused(target: Any, *args: Any, **kwargs: Any) -> None:
        if str(target).endswith("audit.jsonl.3"):
            raise PermissionError(13, "Permission denied")
        real_unlink(target, *args, **kwargs)

    monkeypatch.setattr("openclaw_failover._audit.os.unlink", refused)
    with caplog.at_level(logging.WARNING, logger="openclaw_failover.audit"):
        sink = rotate_once(path, keep=1)
    assert sink.dropped == 0
    assert [line["attempt"] for line in read_audit(path)] == [99]
    assert path.with_name("audit.jsonl.1").read_text() == '{"live": 1}\n'
    assert "audit.jsonl.3" in caplog.text


def test_the_report_reads_only_copies_named_as_rotation_names_them(tmp_path: Path) -> None:
    """The report reads audit.jsonl.N, newest last; audit.jsonl.01 (a hand-made copy of .1,
    read twice before) or .٣ (a non-ASCII digit) are not copies, and rotation keeps them."""
    path = tmp_path / "audit.jsonl"
    for name in ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.10", "audit.jsonl.2"]:
        (tmp_path / name).write_text("{}\n")
    for name in ["audit.jsonl.01", "audit.jsonl.\u0663"]:
        (tmp_path / name).write_text("{}\n")
    assert [p.name for p in audit_files(path)] == [
        "audit.jsonl.10",
        "audit.jsonl.2",
        "audit.jsonl.1",
        "audit.jsonl",
    ]


def test_a_folder_named_like_a_copy_is_not_read_as_one(tmp_path: Path) -> None:
    """A directory audit.jsonl.3 beside the audit file (made by hand) is no rotated copy: the
    report's file list leaves it out instead of failing to open it."""
    base = tmp_path / "audit.jsonl"
    base.write_text("")
    (tmp_path / "audit.jsonl.1").write_text("")
    (tmp_path / "audit.jsonl.3").mkdir()
    assert audit_files(base) == [tmp_path / "audit.jsonl.1", base]
