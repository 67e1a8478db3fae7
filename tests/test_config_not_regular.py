"""A --config that is not a regular file: a FIFO (the read would wait for a writer forever), a
device (/dev/zero would never end) or a pipe (read again to mask secrets and notice edits, it
would be empty) is refused by name at once, saying to write it to a file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openclaw_failover.config import load_route_table
from openclaw_failover.config._source import NOT_REGULAR


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "s")}
    env.pop("OPENCLAW_CONFIG_PATH", None)
    return env


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "openclaw.json"
    os.mkfifo(fifo)
    result = load_route_table(fifo, environ=_env(tmp_path))
    assert result.table is None
    [problem] = [p for p in result.problems if p.rule == "file.unreadable"]
    assert problem.found == f"{fifo} ({NOT_REGULAR})"
    assert "write it to a file" in problem.found


@pytest.mark.timeout(20)
def test_a_device_is_refused(tmp_path: Path) -> None:
    result = load_route_table("/dev/zero", environ=_env(tmp_path))
    assert result.table is None
    assert [p.found for p in result.problems] == [f"/dev/zero ({NOT_REGULAR})"]
