"""OpenClaw's built-in failover against openclaw-failover, side by side, with real OpenClaw.

For each fault of the primary (500, 429 with Retry-After 1, silent, and everything down) it runs
one real `openclaw agent --local` turn twice: once with OpenClaw's own chain (primary ->
backup, `timeoutSeconds: 30` as measured in the reference), and once with openclaw-failover
installed in provider mode (first-token deadline 30 s too, so the silent case is comparable).
It prints the wall time of each turn, the requests the primary received, and the ratios.

    .venv/bin/python benchmarks/openclaw_failover_time.py [--faults 500,429,silent,down]

Loopback only; every run is bounded. The built-in runs take minutes (about 80 s for 500,
150 s for 429, 140 s for silent, about 230 s when everything is down).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openclaw_failover.testing import (  # noqa: E402
    Answer,
    FakeOpenAIServer,
    Fault,
    HangBeforeHeaders,
    HttpError,
    Ok,
)
from tests.fixtures.openclaw import OpenClawHome, fake_provider_entry, install_openclaw  # noqa: E402
from tests.test_e2e_provider_mode import _free_port, _kill_processes_mentioning  # noqa: E402

FAULTS: dict[str, tuple[Fault, Fault]] = {
    "healthy": (Ok(Answer(text="primary answered")), Ok(Answer(text="backup answered"))),
    "500": (HttpError(500), Ok(Answer(text="backup answered"))),
    "429": (HttpError(429, retry_after=1), Ok(Answer(text="backup answered"))),
    "silent": (HangBeforeHeaders(limit_s=400), Ok(Answer(text="backup answered"))),
    "down": (HttpError(500), HttpError(500)),
}


def _home(
    root: Path, bin_dir: Path, primary: FakeOpenAIServer, backup: FakeOpenAIServer
) -> OpenClawHome:
    home = OpenClawHome(root, bin_dir)
    providers = {
        "fakeprimary": fake_provider_entry(primary.url, api_key="sk-bench-primary"),
        "fakebackup": fake_provider_entry(backup.url, api_key="sk-bench-backup"),
    }
    home.write_config(
        home.base_config(
            providers, primary="fakeprimary/fake-model", fallbacks=["fakebackup/fake-model"]
        )
    )
    return home


def _install(home: OpenClawHome) -> None:
    argv = [sys.executable, "-m", "openclaw_failover", "install", "--port", str(_free_port())]
    argv += ["--config", str(home.config_path), "--state-dir", str(home.state_dir)]
    subprocess.run(argv, env=home.env, check=True, capture_output=True, timeout=240)
    doc = home.read_config()
    doc["models"]["providers"]["failover"]["headers"] = {"x-openclaw-failover-deadline-ms": "30000"}
    home.write_config(doc)


def run_case(bin_dir: Path, fault: str, *, ours: bool) -> tuple[float, int, str]:
    """One turn; returns (wall seconds, requests to the primary, the first reply text)."""
    primary_fault, backup_fault = FAULTS[fault]
    with tempfile.TemporaryDirectory() as tmp:
        primary = FakeOpenAIServer(default=primary_fault, hang_limit_s=400)
        backup = FakeOpenAIServer(default=backup_fault)
        with primary, backup:
            home = _home(Path(tmp), bin_dir, primary, backup)
            prepare: Callable[[OpenClawHome], None] = _install if ours else (lambda _h: None)
            prepare(home)
            try:
                turn = home.run_turn("hi", f"bench-{fault}", timeout_s=600)
            finally:
                _kill_processes_mentioning(str(home.config_path))
            lines = [turn.text] if turn.text else turn.stderr.strip().splitlines()[-1:]
            text = (lines or [""])[0][:80]
            return turn.wall_s, len(primary.chat_requests), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default="500,429,silent,down")
    args = parser.parse_args()
    bin_dir = install_openclaw()
    # A healthy turn on each side first: OpenClaw's own start-up is most of a turn, so the
    # excess over it is what the failover itself cost.
    healthy = (
        run_case(bin_dir, "healthy", ours=False)[0],
        run_case(bin_dir, "healthy", ours=True)[0],
    )
    print(f"healthy turn: built-in {healthy[0]:.1f} s, ours {healthy[1]:.1f} s")
    head = f"{'fault':8} {'built-in s':>11} {'excess':>7} {'req':>4} {'ours s':>8} {'excess':>7}"
    print(f"{head} {'req':>4} {'ratio':>7} {'excess ratio':>13}  ours said")
    ratios, excess_ratios = [], []
    for fault in args.faults.split(","):
        base_s, base_req, _ = run_case(bin_dir, fault, ours=False)
        ours_s, ours_req, text = run_case(bin_dir, fault, ours=True)
        base_x, ours_x = base_s - healthy[0], max(ours_s - healthy[1], 0.1)
        ratios.append(base_s / ours_s)
        excess_ratios.append(base_x / ours_x)
        row = f"{fault:8} {base_s:11.1f} {base_x:7.1f} {base_req:4d} {ours_s:8.1f} {ours_x:7.1f}"
        print(f"{row} {ours_req:4d} {ratios[-1]:6.1f}x {excess_ratios[-1]:12.1f}x  {text}")
    print(f"median ratio built-in/ours: {statistics.median(ratios):.1f}x (wall), ", end="")
    print(f"{statistics.median(excess_ratios):.1f}x (excess over a healthy turn)")


if __name__ == "__main__":
    main()
