"""``openclaw-failover demo``: the real engine and proxy against simulated failing providers.

Everything runs on 127.0.0.1 with ephemeral ports: two simulated cloud providers (the primary
with two keys goes into a 429 burst and then an outage), a local tier (the real SmolLM2 through
llama.cpp's server when it is installed, a simulated one otherwise) and the failover proxy,
driven by a few concurrent clients. It ends with the report table, the plot and the audit path.
Cooldowns and deadlines are scaled down so the story fits in the chosen duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from ._demo_table import LocalTier, demo_table
from ._demo_upstream import phase_at, progress_clock, upstream_app
from ._model import AlertSettings

__all__ = ["DemoResult", "run_demo"]

_WORKERS = 4


@dataclass
class DemoResult:
    """What the demo produced: where its files are and how the requests ended."""

    out_dir: Path
    audit_path: Path
    plot_path: Path | None = None
    counts: Counter[str] = field(default_factory=Counter)
    report: dict[str, Any] = field(default_factory=dict)
    local_kind: str = "simulated"


class _QuietServer:
    """A uvicorn server on a pre-bound loopback socket, without signal handlers of its own."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            http="h11",
            loop="asyncio",
        )
        self.server = Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    async def start(self) -> str:
        """Serve in the background; return once it accepts."""
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        for _ in range(200):
            if self.server.started or self.task.done():
                break
            await asyncio.sleep(0.02)
        if not self.server.started:
            raise RuntimeError("a demo server did not start")
        return self.url

    async def stop(self) -> None:
        """Stop serving and wait for it."""
        self.server.should_exit = True
        if self.task is not None:
            await self.task
        self.sock.close()


@contextlib.asynccontextmanager
async def _local_tier(prefer_real: bool, progress: Callable[[], float]) -> AsyncIterator[LocalTier]:
    """The real SmolLM2 server when installed (and wanted), else the simulated local provider."""
    from .testing._llamacpp import LlamaCppServer, smollm2_gguf_path, xllamacpp_available

    gguf = smollm2_gguf_path() if prefer_real and xllamacpp_available() else None
    if gguf is not None:
        server = LlamaCppServer(gguf, alias="smollm2")
        try:
            url = await asyncio.to_thread(server.start)
            yield LocalTier(
                base_url=f"{url}/v1", model="smollm2", kind="real SmolLM2-135M (llama.cpp)"
            )
        finally:
            await asyncio.to_thread(server.stop)
        return
    fake = _QuietServer(upstream_app("local", "tiny-local", progress=progress, latency_s=0.15))
    try:
        url = await fake.start()
        yield LocalTier(base_url=f"{url}/v1", model="tiny-local", kind="simulated")
    finally:
        await fake.stop()


def _kind(response: httpx.Response) -> str:
    if response.status_code == 429 and response.headers.get("x-openclaw-failover-tier") == "none":
        return "hard stop"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    tier = response.headers.get("x-openclaw-failover-tier", "")
    if tier == "local":
        return "local tier"
    return (
        "fallback"
        if response.headers.get("x-openclaw-failover-downgraded") == "true"
        else "primary"
    )


async def _traffic(
    url: str, *, until: float, counts: Counter[str], last: list[str], n: int
) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 8}
    async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
        i = 0
        while time.monotonic() < until:
            i += 1
            try:
                reply = await client.post(
                    f"{url}/v1/chat/completions",
                    json={**body, "stream": (i + n) % 3 == 0},
                    headers={"x-openclaw-session-id": f"demo-{n}-{i // 10}"},
                )
            except httpx.HTTPError as exc:
                counts[f"client error {type(exc).__name__}"] += 1
                continue
            kind = _kind(reply)
            counts[kind] += 1
            who = reply.headers.get("x-openclaw-failover-provider", "-")
            last[0] = f"{kind} via {who}/{reply.headers.get('x-openclaw-failover-model', '-')}"
            await asyncio.sleep(0.15)


def _view(
    progress: float, duration_s: float, counts: Counter[str], last: str, *, simulated: bool
) -> Group:
    width = 40
    done = int(progress * width)
    bar = Text(
        f"[{'#' * done}{'.' * (width - done)}] {progress * duration_s:4.0f}/{duration_s:.0f} s"
    )
    summary = "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "starting"
    return Group(
        bar,
        Text(f"now: {phase_at(progress, simulated_local=simulated)}", style="bold"),
        Text(summary),
        Text(f"last: {last}"),
    )


async def _drive(
    url: str,
    result: DemoResult,
    console: Console,
    *,
    progress: Callable[[], float],
    duration_s: float,
) -> None:
    """Run the clients until the duration is over, showing live progress."""
    last = ["-"]
    until = time.monotonic() + duration_s
    simulated = result.local_kind == "simulated"
    workers = [
        asyncio.create_task(_traffic(url, until=until, counts=result.counts, last=last, n=n))
        for n in range(_WORKERS)
    ]

    def view() -> Group:
        return _view(progress(), duration_s, result.counts, last[0], simulated=simulated)

    with Live(
        view(), console=console, refresh_per_second=4, transient=not console.is_terminal
    ) as live:
        while not all(w.done() for w in workers):
            live.update(view())
            await asyncio.sleep(0.25)
    for worker in workers:
        worker.result()


async def _run(duration_s: float, out: Path, console: Console, prefer_real: bool) -> DemoResult:
    from .proxy import create_app

    result = DemoResult(out_dir=out, audit_path=out / "audit.jsonl")
    started: list[float] = []

    def progress() -> float:
        return progress_clock(duration_s, start=started[0])() if started else 0.0

    async with _local_tier(prefer_real, progress) as local:
        result.local_kind = local.kind
        cloud_a = _QuietServer(upstream_app("cloud-a", "big-1", progress=progress))
        cloud_b = _QuietServer(upstream_app("cloud-b", "mid-1", progress=progress))
        urls = [await s.start() for s in (cloud_a, cloud_b)]
        table = demo_table(
            cloud_a=f"{urls[0]}/v1",
            cloud_b=f"{urls[1]}/v1",
            local=local,
            audit_path=result.audit_path,
            duration_s=duration_s,
        )
        proxy = _QuietServer(create_app(table))
        proxy_url = await proxy.start()
        console.print(f"proxy {proxy_url}, local tier: {local.kind}; {duration_s:.0f} s of traffic")
        started.append(time.monotonic())
        await _drive(proxy_url, result, console, progress=progress, duration_s=duration_s)
        await proxy.stop()
        for server in (cloud_a, cloud_b):
            await server.stop()
    return result


def run_demo(
    *,
    duration_s: float = 60.0,
    out_dir: Path | None = None,
    console: Console | None = None,
    prefer_real_local: bool = True,
    alerts: AlertSettings | None = None,
) -> DemoResult:
    """Run the demo, print the report, write the plot; return what it made.

    ``alerts`` (from the operator's config, if given) sets the thresholds the report and the
    plot use; the demo's providers and chain are always its own simulated ones.
    """
    from ._plot import PlotUnavailable, render_plot
    from ._report import build_report
    from .cli._report_view import print_report

    console = console or Console()
    out = out_dir or Path(tempfile.mkdtemp(prefix="openclaw-failover-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(_run(duration_s, out, console, prefer_real_local))
    bucket_s = max(1, round(duration_s / 20))
    limits = alerts or AlertSettings()
    result.report = build_report(
        result.audit_path,
        now=time.time() + 1,
        series_bucket_s=bucket_s,
        hard_stop_share=limits.hard_stop_share,
        local_share=limits.local_share,
    ).to_json()
    print_report(console, result.report)
    try:
        result.plot_path = render_plot(result.report, out / "fallback.png").path
        console.print(f"plot:  {result.plot_path}")
    except PlotUnavailable as exc:
        console.print(f"plot skipped: {exc}")
    console.print(f"audit: {result.audit_path}")
    console.print("requests: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
    return result
