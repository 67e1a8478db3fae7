"""The demo: real engine and proxy against simulated providers, ending with table, PNG, audit."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from openclaw_failover._demo import run_demo
from openclaw_failover._demo_upstream import Behaviour, demo_behaviour, phase_at
from openclaw_failover.testing._llamacpp import smollm2_gguf_path, xllamacpp_available


def test_failure_script_tells_the_story() -> None:
    """Key 1 is limited first, then both keys; then an outage; cloud-b limited later."""
    assert demo_behaviour("cloud-a", "demo-cloud-a-main", 0.1, 0.5).action == "ok"
    assert demo_behaviour("cloud-a", "demo-cloud-a-main", 0.25, 0.5) == Behaviour("status", 429, 10)
    assert demo_behaviour("cloud-a", "demo-cloud-a-spare", 0.25, 0.5).action == "ok"
    assert demo_behaviour("cloud-a", "demo-cloud-a-spare", 0.35, 0.5).status == 429
    assert demo_behaviour("cloud-a", "k", 0.5, 0.1).action == "hang"
    assert demo_behaviour("cloud-a", "k", 0.5, 0.9).status == 503
    assert demo_behaviour("cloud-b", "k", 0.6, 0.5).status == 429
    assert demo_behaviour("cloud-a", "k", 0.8, 0.1).action == "ok"
    assert phase_at(0.8).startswith("primary recovered")
    assert "hard stops" in phase_at(0.65)
    assert "real local model keeps answering" in phase_at(0.65, simulated_local=False)


@pytest.mark.slow
def test_short_demo_falls_back_through_every_tier(tmp_path: Path) -> None:
    """An 8 s demo answers from the primary, a cloud fallback and the local tier, and ends with
    the report table, a PNG and a private audit file whose intents match the requests."""
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    result = run_demo(duration_s=8, out_dir=tmp_path, console=console, prefer_real_local=False)
    text = out.getvalue()
    assert result.counts["primary"] > 0
    assert result.counts["fallback"] > 0
    assert result.counts["local tier"] > 0
    answered = sum(v for k, v in result.counts.items() if not k.startswith("client error"))
    assert result.report["totals"]["intents"] == answered
    assert result.report["totals"]["fallback_share"] > 0
    assert result.plot_path is not None
    assert result.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(result.audit_path.stat().st_mode) == 0o600
    assert "Per day" in text
    assert f"plot:  {result.plot_path}" in text
    assert f"audit: {result.audit_path}" in text


@pytest.mark.slow
@pytest.mark.local_llm
@pytest.mark.skipif(
    not (xllamacpp_available() and smollm2_gguf_path()), reason="local LLM not installed"
)
def test_demo_with_the_real_small_model(tmp_path: Path) -> None:
    """With xllamacpp and SmolLM2 installed, the local tier is the real model and it answers."""
    result = run_demo(
        duration_s=12, out_dir=tmp_path, console=Console(file=io.StringIO()), prefer_real_local=True
    )
    assert result.local_kind.startswith("real SmolLM2")
    assert result.counts["local tier"] > 0


@pytest.mark.slow
def test_demo_command_from_the_cli(tmp_path: Path) -> None:
    """``openclaw-failover demo`` runs as a process and prints the plot and audit paths."""
    env = {**os.environ, "COLUMNS": "160"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "openclaw_failover",
            "demo",
            "--duration",
            "5",
            "--out",
            str(tmp_path),
            "--local",
            "fake",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"plot:  {tmp_path / 'fallback.png'}" in proc.stdout
    assert (tmp_path / "fallback.png").stat().st_size > 10_000
    assert "Traceback" not in proc.stdout + proc.stderr
