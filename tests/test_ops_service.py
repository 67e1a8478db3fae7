"""Service units: rendered systemd/launchd files that wait for the local tier and restart."""

from __future__ import annotations

import plistlib
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_failover._service import (
    ServiceSpec,
    UnitFile,
    render_launchd,
    render_systemd,
    unit_path,
    wait_for_port,
    write_unit,
)

SPEC = ServiceSpec(
    command=(sys.executable, "-m", "openclaw_failover"),
    config_path="/srv/open claw/openclaw.json",
    state_dir="/srv/state",
    proxy=("127.0.0.1", 8787),
    wait_for=(("127.0.0.1", 11434),),
)


def test_systemd_unit_waits_for_ollama_then_serves_and_restarts() -> None:
    """ExecStartPre waits for the Ollama port, ExecStart serves the config, restart on failure."""
    text = render_systemd(SPEC)
    lines = text.splitlines()
    pre = [x for x in lines if x.startswith("ExecStartPre=")]
    assert pre == [
        f"ExecStartPre={sys.executable} -m openclaw_failover service wait-port "
        "127.0.0.1:11434 --timeout 120"
    ]
    serve = f"ExecStart={sys.executable} -m openclaw_failover serve --config "
    assert serve + '"/srv/open claw/openclaw.json"' in lines
    assert any(x.startswith("ExecStartPost=") and "127.0.0.1:8787" in x for x in lines)
    assert "Restart=on-failure" in lines
    assert "WantedBy=default.target" in lines


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd-analyze verify accepts the unit (and rejects a broken one, so the check bites)."""
    unit = tmp_path / "openclaw-failover.service"
    unit.write_text(render_systemd(SPEC))
    ok = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "broken.service"
    broken.write_text(render_systemd(SPEC).replace(f"ExecStart={sys.executable}", "ExecStart=rel"))
    bad = subprocess.run(
        ["systemd-analyze", "verify", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0


def test_launchd_plist_waits_then_execs_serve() -> None:
    """The plist runs a shell that waits for Ollama then execs serve; KeepAlive on failure."""
    plist = plistlib.loads(render_launchd(SPEC).encode())
    program = plist["ProgramArguments"]
    assert program[:2] == ["/bin/sh", "-c"]
    assert "wait-port 127.0.0.1:11434" in program[2]
    assert program[2].index("wait-port") < program[2].index("exec ")
    assert "'/srv/open claw/openclaw.json'" in program[2]
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["EnvironmentVariables"]["OPENCLAW_CONFIG_PATH"] == SPEC.config_path


def test_unit_paths_and_write(tmp_path: Path) -> None:
    """Units go to the user's service folder and are written with mode 0644."""
    path = unit_path("systemd", home=tmp_path, environ={})
    assert path == tmp_path / ".config" / "systemd" / "user" / "openclaw-failover.service"
    assert unit_path("launchd", home=tmp_path, environ={}).parent.name == "LaunchAgents"
    write_unit(UnitFile(path, "x\n"))
    assert path.read_text() == "x\n"
    assert path.stat().st_mode & 0o777 == 0o644


def test_wait_for_port_sees_a_listener_and_gives_up_on_none() -> None:
    """A listening loopback port is seen at once; a closed one times out on a fake clock."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert wait_for_port("127.0.0.1", listener.getsockname()[1], timeout_s=5)
    ticks = iter(range(100))
    slept: list[float] = []

    def refuse(_addr: tuple[str, int], _timeout: float) -> socket.socket:
        raise ConnectionRefusedError

    assert not wait_for_port(
        "127.0.0.1",
        9,
        timeout_s=3,
        connect=refuse,
        monotonic=lambda: float(next(ticks)),
        sleep=slept.append,
    )
    assert slept == [0.5, 0.5]
