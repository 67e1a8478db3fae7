"""The bridge <-> sidecar link recovering from a sidecar that hangs, crash-loops after its hello
or writes a line with no end: the hung one is stopped and replaced, restarts back off, and a
line past the cap is dropped without growing OpenClaw's memory.

The bridge runs under Node 24 with a fake host API against a scripted fake sidecar (the harness
of tests/fixtures/plugin_link.py); the bridge's clock is moved forward ("advance") instead of
waiting out restart delays.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.plugin_link import LOCAL_START, blocked, fake_command, hello, run, tool_step

FROM_SIDECAR = {"ok": True, "result": {"block": True, "blockReason": "from sidecar"}}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def node(openclaw_bin: Path) -> Path:
    """Node 24 from the OpenClaw install."""
    return openclaw_bin / "node"


def lives(tmp: Path) -> int:
    """How many times the fake sidecar was started."""
    path = tmp / "lives"
    return len(path.read_text(encoding="utf-8")) if path.exists() else 0


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def pid_file(tmp_path: Path) -> Iterator[Path]:
    """Where a fake sidecar writes its pid; a sidecar still running afterwards is killed."""
    path = tmp_path / "sidecar.pid"
    yield path
    if path.exists() and alive(pid := int(path.read_text(encoding="utf-8"))):
        os.kill(pid, signal.SIGKILL)


# -- a hung sidecar ----------------------------------------------------------------------------


def test_a_hung_sidecar_is_stopped_and_replaced(node: Path, tmp_path: Path) -> None:
    """Three calls in a row without an answer stop the sidecar: the call still waiting fails safe
    at once, one warning names the cause and the fix, and the next start answers again."""
    script = {
        "hello": [hello()],
        "mode": "hang",
        "later": "reply",
        "lives": str(tmp_path / "lives"),
    }
    command = fake_command(tmp_path, {**script, "replies": {"before_tool_call": FROM_SIDECAR}})
    steps = [
        {"wait": 500},
        LOCAL_START,  # unanswered: 1
        tool_step(),  # 2
        {**tool_step(), "detach": True},  # 3: stops the sidecar when it times out
        {"wait": 700},
        {**tool_step(), "detach": True},  # waiting then: fails safe at once
        {"wait": 800},
        {"advance": 5000},  # past the restart delay
        tool_step(),  # starts a new sidecar, which answers
    ]
    result = run(node, tmp_path, command, steps, timeout_ms=1000)
    waiting = result["out"][3]
    assert blocked(waiting)
    assert waiting["ms"] < 700
    assert result["out"][-1]["value"] == FROM_SIDECAR["result"]
    assert lives(tmp_path) == 2
    [warning] = result["warnings"]
    assert "did not answer" in warning
    assert "sidecar.timeoutMs" in warning
    assert "3 calls in a row" in warning
    assert any("stopped" in info for info in result["infos"])


def test_a_hung_sidecar_that_ignores_sigterm_is_killed(
    node: Path, tmp_path: Path, pid_file: Path
) -> None:
    """A hung sidecar that ignores SIGTERM is sent SIGKILL after a short grace."""
    script = {"hello": [hello()], "mode": "hang", "ignore_term": True, "linger_s": 20}
    command = fake_command(tmp_path, {**script, "pid_file": str(pid_file)})
    steps = [{"wait": 500}, LOCAL_START, tool_step(), tool_step(), {"wait": 3000}]
    result = run(node, tmp_path, command, steps, timeout_ms=300)
    assert all(blocked(o) for o in result["out"][1:])
    assert not alive(int(pid_file.read_text(encoding="utf-8")))


# -- a crash loop after the hello --------------------------------------------------------------


def _crashing_after_hello(tmp_path: Path) -> dict[str, object]:
    """A fake sidecar that says hello, then dies (SIGKILL) on its first request; each start is
    counted in ``lives``."""
    return {
        "hello": [hello()],
        "mode": "sigkill",
        "delay_s": 0.3,
        "lives": str(tmp_path / "lives"),
    }


def test_a_sidecar_crashing_after_its_hello_backs_off(node: Path, tmp_path: Path) -> None:
    """A sidecar that says hello and then crashes on every first request is started again 5 s,
    then 10 s, then 20 s after its last start, one warning each: the hello no longer resets the
    wait to 5 s."""
    command = fake_command(tmp_path, _crashing_after_hello(tmp_path))
    again = [{"wait": 500}, {"advance": 5000}, tool_step()]
    steps = [{"wait": 500}, LOCAL_START, *again, *again, *again]
    result = run(node, tmp_path, command, steps, timeout_ms=2000)
    assert all(blocked(o) for o in result["out"][1:])
    assert lives(tmp_path) == 3  # not at 5 s after the second start
    waits = [w.split("a hook call ")[1].split(" s from now")[0] for w in result["warnings"]]
    assert waits == ["5", "10", "20"]


def test_the_backoff_starts_over_after_a_sidecar_that_stayed_up(node: Path, tmp_path: Path) -> None:
    """A sidecar that ran for a minute after its hello and then crashed is started again on the
    next call, and the wait after that one starts over at 5 s."""
    command = fake_command(tmp_path, _crashing_after_hello(tmp_path))
    steps = [{"wait": 500}, {"advance": 61000}, LOCAL_START, {"wait": 500}, tool_step()]
    result = run(node, tmp_path, command, steps, timeout_ms=2000)
    assert lives(tmp_path) == 2
    first, second = result["warnings"]
    assert "the next hook call" in first
    assert "a hook call 5 s from now" in second


# -- a line with no end ------------------------------------------------------------------------


def test_a_line_past_the_cap_is_dropped_and_the_call_fails_safe(node: Path, tmp_path: Path) -> None:
    """A reply line over 4 MiB is dropped (it would have let exec through): the call fails safe
    at its timeout, one warning says so (not one per line), and the next line is read as usual."""
    status = {"ok": True, "result": {"content": [{"type": "text", "text": "t"}]}}
    replies = {"before_tool_call": {"ok": True, "result": {}}, "tool": status}
    pad = {"before_tool_call": 5 * MIB}
    script = {"hello": [hello()], "mode": "reply", "replies": replies, "pad": pad}
    steps = [{"wait": 500}, LOCAL_START, tool_step(), tool_step(), {"tool": True}]
    result = run(node, tmp_path, fake_command(tmp_path, script), steps, timeout_ms=1500)
    assert blocked(result["out"][1])
    assert blocked(result["out"][2])
    assert result["out"][3]["value"] == {"content": [{"type": "text", "text": "t"}], "details": {}}
    [warning] = [w for w in result["warnings"] if "MiB" in w]
    assert "4 MiB" in warning


def test_a_line_with_no_end_does_not_grow_the_buffer(node: Path, tmp_path: Path) -> None:
    """8 MiB with no newline leave at most 4 MiB in the bridge's receive buffer, one warning."""
    script = {"hello": [hello()], "mode": "flood", "flood": 8 * MIB}
    steps = [{"wait": 500}, LOCAL_START, {"wait": 500}, tool_step()]
    result = run(node, tmp_path, fake_command(tmp_path, script), steps, timeout_ms=1000)
    assert blocked(result["out"][-1])
    assert result["buffered"] <= 4 * MIB
    [warning] = [w for w in result["warnings"] if "MiB" in w]
    assert "\n" not in warning
