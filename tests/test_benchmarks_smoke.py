"""The benchmarks run end to end in short modes and print every figure line; the profile
splitter charges samples to the right part."""

from __future__ import annotations

import re
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


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<script>`` from the repo root; it must exit 0."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_proxy_overhead_smoke_prints_its_figures() -> None:
    """``benchmarks/proxy_overhead.py --smoke`` exits 0 and prints each figure line (no
    timing is asserted: figures belong in BENCHMARKS.md, not in a test)."""
    done = run_benchmark("proxy_overhead.py", "--smoke")
    for figure in FIGURES:
        assert figure in done.stdout, f"missing {figure!r}"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_proxy_side_by_side_smoke_compares_two_trees() -> None:
    """``benchmarks/proxy_side_by_side.py`` checks a commit out beside this tree, loads both
    and prints each one's figures and the ratio (no timing is asserted), and removes the
    worktree it made."""
    done = run_benchmark(
        "proxy_side_by_side.py", "--base", "HEAD", "--rounds", "1", "--seconds", "1"
    )
    assert re.search(r"^  this tree .* rps .*us kernel$", done.stdout, re.M), done.stdout
    assert re.search(r"^  HEAD .* rps .*us kernel$", done.stdout, re.M), done.stdout
    assert re.search(r"^throughput ratio \(this tree / base\): [\d.]+x$", done.stdout, re.M)
    worktrees = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert "proxy-side-by-side" not in worktrees


def test_engine_overhead_prints_every_cell_and_part() -> None:
    """A short ``engine_overhead.py`` run prints a figure for every shape and store and the
    three parts (nothing about their size is asserted)."""
    done = run_benchmark("engine_overhead.py", "--requests", "50")
    row = r"^\s+(\d+)\s+\d+x\d+\s+(healthy|primary-cooling)\s+[\d.]+ /\s+[\d.]+\s+[\d.]+ /"
    cells = re.findall(row, done.stdout, re.M)
    assert len(cells) == 9, done.stdout
    parts = re.search(r"^parts of one healthy 8x4 request.*$", done.stdout, re.M)
    assert parts is not None, done.stdout
    assert len(re.findall(r"\d+\.\d+ us", parts.group(0))) == 3
    line = re.search(
        r"^8 models x 4 keys \(target <= 20 us median\): "
        r"memory store ([\d.]+) us \((met|NOT met)\), file store ([\d.]+) us \((met|NOT met)\)",
        done.stdout,
        re.M,
    )
    assert line is not None, done.stdout
    for figure, verdict in ((line.group(1), line.group(2)), (line.group(3), line.group(4))):
        assert (verdict == "met") == (float(figure) <= 20.0), line.group(0)


def test_engine_opcodes_counts_the_engine_functions_of_a_request() -> None:
    """A short ``engine_opcodes.py`` run prints a total and rows whose shares are of it; the
    engine's own functions are among them (the counts themselves are not asserted)."""
    done = run_benchmark("engine_opcodes.py", "--requests", "20", "--top", "40")
    total = re.search(r"^opcodes per healthy 8x4 request: (\d+)", done.stdout, re.M)
    assert total is not None, done.stdout
    rows = re.findall(r"^\s+([\d.]+)\s+([\d.]+)%\s+(\S+)$", done.stdout, re.M)
    assert len(rows) == 40, done.stdout
    names = {name for _, _, name in rows}
    assert {"_attempts.py:_attempt", "_answer.py:__anext__", "_engine.py:open"} <= names
    assert sum(float(per) for per, _, _ in rows) <= int(total.group(1)) + 1


def test_profile_split_charges_the_standard_library_to_its_caller(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import proxy_profile
    finally:
        sys.path.pop(0)
    raw = tmp_path / "p.raw"
    chat = "ChatCompletions.__call__ (openclaw_failover/proxy/_chat.py:97)"
    raw.write_text(
        f"run_asgi (uvicorn/protocols/http/httptools_impl.py:401);{chat};"
        "dumps (/usr/lib/python3.11/json/__init__.py:231) 3\n"
        "run_asgi (uvicorn/protocols/http/httptools_impl.py:401) 5\n"
        "_bootstrap (threading.py:1002);JsonlAuditSink._run (openclaw_failover/_audit.py:130);"
        "_write (openclaw_failover/_audit.py:140) 2\n"
        "select (selectors.py:468) 1\n"
    )
    parts, total, audit = proxy_profile.split(raw)
    assert total == 11
    assert audit == 2
    assert parts["ours: proxy/_chat.py"] == 3  # json called by our code is ours
    assert parts["uvicorn + httptools"] == 5
    assert parts["ours: the audit writer thread"] == 2
    assert parts["stdlib and other"] == 1


def test_profile_reads_a_process_user_and_kernel_ticks() -> None:
    """cpu_ticks reads /proc/PID/stat's user and kernel ticks; busy Python work moves the
    user count."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import proxy_profile
    finally:
        sys.path.pop(0)
    import os
    import time

    user, system = proxy_profile.cpu_ticks(os.getpid())
    assert user >= 0
    assert system >= 0
    ends = time.process_time() + 0.2
    while time.process_time() < ends:
        sum(range(1000))
    later, _ = proxy_profile.cpu_ticks(os.getpid())
    assert later > user


def test_the_floor_relay_passes_the_upstream_reply_on() -> None:
    """``_bare_relay.py --ours`` (the floor under ``serve``: our server and pooled transport,
    no logic) relays a chat request to the fast fake and its reply back, byte for byte."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import proxy_overhead as po
    finally:
        sys.path.pop(0)
    import httpx

    procs = po.Processes()
    try:
        _, port = po.start_fake(procs)
        upstream = f"http://127.0.0.1:{port}"
        _, url = po.start_relay(procs, upstream, "--ours")
        body = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
        direct = httpx.post(f"{upstream}/v1/chat/completions", json=body, trust_env=False)
        relayed = httpx.post(f"{url}/v1/chat/completions", json=body, trust_env=False)
    finally:
        procs.stop()
    assert relayed.status_code == direct.status_code == 200
    assert relayed.content == direct.content
    assert relayed.json()["choices"][0]["message"]["content"] == "Hello from the fake."


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_proxy_calls_counts_the_calls_of_a_request() -> None:
    """``benchmarks/proxy_calls.py`` profiles ``serve`` under load and prints the calls per
    request and the chat endpoint among the functions (no count is asserted but > 0)."""
    done = run_benchmark("proxy_calls.py", "--seconds", "1", "--top", "60")
    found = re.search(r"^[\d,]+ requests; (\d+) function calls per request$", done.stdout, re.M)
    assert found is not None, done.stdout[-2000:]
    assert int(found.group(1)) > 0
    assert "(proxy/_chat.py:" in done.stdout


def _perf_allowed() -> bool:
    if shutil.which("perf") is None:
        return False
    probe = subprocess.run(
        ["perf", "record", "-q", "-o", "/dev/null", "--", "true"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_proxy_kernel_smoke_prints_its_split() -> None:
    """``benchmarks/proxy_kernel.py`` samples serve and the floor with perf and prints the
    kernel's part per system call for both (no timing is asserted)."""
    if not _perf_allowed():
        pytest.skip("perf is missing or may not sample here")
    done = run_benchmark("proxy_kernel.py", "--rounds", "1", "--seconds", "1")
    for row in ("kernel, all", "socket writes", "of which waking the reader", "thread switches"):
        assert row in done.stdout, f"missing {row!r}"
    assert "throughput under perf: serve" in done.stdout
