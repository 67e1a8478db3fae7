"""LiteLLM proxy 1.109.x beside us: installed into its own virtualenv, configured, started.

The install follows ``shared/reference/peers.md``: the wheel with ``--no-deps``, then its core
and ``proxy`` requirements read from the wheel's own metadata, with the pins on ``certifi``,
``litellm-proxy-extras`` and ``litellm-enterprise`` dropped, plus ``orjson``, ``hiredis`` and
``granian``. Everything lives under ``~/.cache/openclaw-failover/litellm-venv``; a failed
install is reported as a reason string so the benchmark can skip LiteLLM and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

VERSION_SPEC = "litellm>=1.109,<1.110"
VENV = Path.home() / ".cache" / "openclaw-failover" / "litellm-venv"
_UNPINNED = ("certifi", "litellm-proxy-extras", "litellm-enterprise")
_EXTRA = ("orjson", "hiredis", "granian")

#: Run inside the LiteLLM venv: print the core + proxy requirements, some of them unpinned.
_REQUIREMENTS_SCRIPT = f"""
import importlib.metadata as md
from pip._vendor.packaging.requirements import Requirement
unpinned = {_UNPINNED!r}
for text in md.requires("litellm") or []:
    req = Requirement(text)
    if req.marker is not None and not any(
        req.marker.evaluate({{"extra": extra}}) for extra in ("", "proxy")
    ):
        continue
    name = req.name + (f"[{{','.join(sorted(req.extras))}}]" if req.extras else "")
    print(name if req.name in unpinned else name + str(req.specifier))
"""


def _python() -> Path:
    return VENV / "bin" / "python"


def litellm_bin() -> Path:
    """The ``litellm`` CLI inside the benchmark's venv."""
    return VENV / "bin" / "litellm"


def _installed() -> bool:
    if not litellm_bin().exists():
        return False
    probe = subprocess.run(
        [str(_python()), "-c", "import litellm.proxy.proxy_server, granian, orjson"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    return probe.returncode == 0


def _pip(*args: str, log: Path) -> None:
    with log.open("a") as out:
        subprocess.run(
            [str(_python()), "-m", "pip", "install", "-q", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=1200,
        )


def ensure_litellm() -> str | None:
    """Install LiteLLM if needed; None when ready, else the reason it cannot be used."""
    if _installed():
        return None
    log = VENV.parent / "litellm-install.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"installing LiteLLM ({VERSION_SPEC}) into {VENV} (log: {log}) ...", flush=True)
    try:
        if not _python().exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        _pip("--no-deps", VERSION_SPEC, log=log)
        listed = subprocess.run(
            [str(_python()), "-c", _REQUIREMENTS_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        requirements = [line for line in listed.stdout.splitlines() if line.strip()]
        _pip(*requirements, *_EXTRA, log=log)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"LiteLLM could not be installed ({type(exc).__name__}; see {log})"
    if not _installed():
        return f"LiteLLM installed but does not import (see {log})"
    return None


def litellm_version() -> str:
    """The installed LiteLLM version."""
    out = subprocess.run(
        [str(_python()), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return out.stdout.strip() or "?"


def write_config(path: Path, *, upstream: str, failover: dict[str, str] | None = None) -> None:
    """A LiteLLM config: model ``fake`` -> ``openai/fake`` on ``upstream``; ``failover`` maps
    extra group names to their own upstream base URLs, each falling back to ``fake``."""
    lines = ["model_list:"]
    groups = {"fake": upstream, **(failover or {})}
    for name, base in groups.items():
        lines += [
            f"  - model_name: {name}",
            "    litellm_params:",
            "      model: openai/fake",
            f"      api_base: {base}",
            "      api_key: sk-bench",
        ]
    lines += [
        "litellm_settings:",
        "  telemetry: false",
        "  drop_params: true",
        "general_settings:",
        "  master_key: os.environ/LITELLM_MASTER_KEY",
    ]
    if failover:
        fallbacks = ", ".join(f'{{"{name}": ["fake"]}}' for name in failover)
        lines += ["router_settings:", f"  fallbacks: [{fallbacks}]"]
    path.write_text("\n".join(lines) + "\n")


def start_litellm(
    config: Path, *, port: int, master_key: str, cpus: str | None, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``litellm --num_workers 1`` (pinned to ``cpus`` with taskset if given); wait for
    ``/health/liveliness``."""
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_DISABLE_NO_REDIS_WARNING": "true",
        "NO_PROXY": "*",
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    command = [str(litellm_bin()), "--config", str(config), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--num_workers", "1"]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    out = log.open("ab")
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"LiteLLM exited with {process.returncode} (see {log})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).is_success:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"LiteLLM not ready after 120 s (see {log})")
