"""The proxy benchmark runs end to end in its --smoke mode and prints every figure line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "added p50 c=1 ours",
    "added p99 c=10 ours",
    "throughput c=50 ours",
    "TTFT ours - direct",
    "RSS ours:",
    "failover cost 500/default",
    "failover cost 429/strict",
    "silent primary past deadline default",
    "requests reaching a cooling primary strict",
    "== targets",
)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_proxy_overhead_smoke_prints_its_figures() -> None:
    """``benchmarks/proxy_overhead.py --smoke`` exits 0 and prints each figure line (no
    timing is asserted: figures belong in BENCHMARKS.md, not in a test)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "proxy_overhead.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for figure in FIGURES:
        assert figure in done.stdout, f"missing {figure!r}"
