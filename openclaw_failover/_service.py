"""Service units that keep the proxy running: a systemd user unit and a launchd agent.

Rendering is pure (argv, paths and ports in, text out); ``write_unit`` is the only I/O. The
units wait for the local Ollama port before starting the proxy, restart it on failure, and carry
the config and state paths but never a key. ``wait_for_port`` is what the units call to wait.
"""

from __future__ import annotations

import plistlib
import shlex
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ._model import RouteTable

__all__ = [
    "ServiceSpec",
    "UnitFile",
    "local_ports",
    "render_launchd",
    "render_systemd",
    "unit_path",
    "wait_for_port",
    "write_unit",
]

SYSTEMD_NAME = "openclaw-failover.service"
LAUNCHD_LABEL = "ai.openclaw-failover.proxy"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """What a unit needs: how to run us, which config, which ports to wait for."""

    command: tuple[str, ...]
    config_path: str
    state_dir: str
    proxy: tuple[str, int]
    wait_for: tuple[tuple[str, int], ...] = ()
    log_dir: str = ""


@dataclass(frozen=True, slots=True)
class UnitFile:
    """A rendered unit: where it goes and its text."""

    path: Path
    text: str


def local_ports(table: RouteTable) -> tuple[tuple[str, int], ...]:
    """The loopback host:port of every Ollama-API provider (the local tier to wait for)."""
    found: list[tuple[str, int]] = []
    for provider in table.providers.values():
        if provider.api != "ollama":
            continue
        parts = urlsplit(provider.base_url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if host in ("127.0.0.1", "localhost", "::1") and (host, port) not in found:
            found.append((host, port))
    return tuple(found)


def _systemd_word(word: str) -> str:
    escaped = word.replace("%", "%%").replace("$", "$$")
    if any(c.isspace() or c in "\"'\\;" for c in escaped):
        return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def _line(argv: Sequence[str]) -> str:
    return " ".join(_systemd_word(a) for a in argv)


def _wait_argv(spec: ServiceSpec, host: str, port: int, timeout_s: int) -> list[str]:
    return [*spec.command, "service", "wait-port", f"{host}:{port}", "--timeout", str(timeout_s)]


def _serve_argv(spec: ServiceSpec) -> list[str]:
    return [*spec.command, "serve", "--config", spec.config_path]


def render_systemd(spec: ServiceSpec) -> str:
    """A systemd user unit: wait for the local tier, serve, report ready once the port accepts."""
    pre = [f"ExecStartPre={_line(_wait_argv(spec, h, p, 120))}" for h, p in spec.wait_for]
    host, port = spec.proxy
    lines = [
        "[Unit]",
        "Description=openclaw-failover proxy (model failover for OpenClaw)",
        "StartLimitIntervalSec=300",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Type=exec",
        f"Environment={_systemd_word('OPENCLAW_CONFIG_PATH=' + spec.config_path)}",
        f"Environment={_systemd_word('OPENCLAW_STATE_DIR=' + spec.state_dir)}",
        *pre,
        f"ExecStart={_line(_serve_argv(spec))}",
        f"ExecStartPost={_line(_wait_argv(spec, host, port, 30))}",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "RestartSec=5",
        "UMask=0077",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def render_launchd(spec: ServiceSpec) -> str:
    """A launchd agent plist: a shell that waits for the local tier, then execs the proxy."""
    steps = [shlex.join(_wait_argv(spec, h, p, 120)) for h, p in spec.wait_for]
    steps.append("exec " + shlex.join(_serve_argv(spec)))
    log_dir = Path(spec.log_dir or spec.state_dir)
    plist: Mapping[str, object] = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": ["/bin/sh", "-c", " && ".join(steps)],
        "EnvironmentVariables": {
            "OPENCLAW_CONFIG_PATH": spec.config_path,
            "OPENCLAW_STATE_DIR": spec.state_dir,
        },
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "Umask": 0o077,
        "StandardOutPath": str(log_dir / "proxy.out.log"),
        "StandardErrorPath": str(log_dir / "proxy.err.log"),
    }
    return plistlib.dumps(dict(plist)).decode()


def unit_path(kind: str, *, home: Path, environ: Mapping[str, str]) -> Path:
    """The user's service folder: ``~/.config/systemd/user`` or ``~/Library/LaunchAgents``."""
    if kind == "systemd":
        base = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
        return Path(base) / "systemd" / "user" / SYSTEMD_NAME
    return home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def write_unit(unit: UnitFile) -> None:
    """Write the unit (0644, parent folders created), replacing it atomically."""
    unit.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = unit.path.with_name(unit.path.name + ".tmp")
    tmp.write_text(unit.text, encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(unit.path)


def wait_for_port(
    host: str,
    port: int,
    *,
    timeout_s: float,
    connect: Callable[[tuple[str, int], float], socket.socket] = socket.create_connection,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Poll until ``host:port`` accepts a TCP connection or ``timeout_s`` passes."""
    deadline = monotonic() + timeout_s
    while True:
        try:
            connect((host, port), 1.0).close()
            return True
        except OSError:
            if monotonic() >= deadline:
                return False
            sleep(0.5)
