"""The sidecar: hosts the Python plugin for the JS bridge, one JSON object per line over stdio.

Requests: ``{"id": n, "op": "hello"|"hook"|"tool"|"ping", ...}``; replies: ``{"id": n, "ok": true,
"result": ...}`` or ``{"id": n, "ok": false, "error": "..."}``. ``hello`` returns the tool policy
the bridge keeps for its fail-safe. Each call is bounded by ``sidecar.timeoutMs``; the sidecar
exits when its stdin closes (the bridge or OpenClaw went away). Never a stack trace on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ._model import StateSettings
from ._ports import AuditSink, StateStore
from ._vendor import openclaw_sdk_shim as shim
from .plugin import FailoverPlugin, register

PROTOCOL_VERSION = 1
POLICY_FILE = "bridge-policy.json"
_MAX_LINE = 16 * 1024 * 1024
#: How often the serving sidecar writes the hard stops of runs that ended unanswered.
SWEEP_S = 5.0


class _StderrLogger:
    """The plugin's ``api.logger`` in the sidecar: one line per message on stderr (which the
    bridge passes on to OpenClaw's own output), masked by ``scrub`` when one is given."""

    def __init__(self, stream: TextIO, scrub: Callable[[str], str] | None = None) -> None:
        self._stream = stream
        self._scrub = scrub

    def _line(self, level: str, message: str) -> None:
        if self._scrub is not None:
            message = self._scrub(message)
        self._stream.write(f"openclaw-failover sidecar {level}: {message}\n")
        self._stream.flush()

    def info(self, message: str) -> None:
        self._line("info", message)

    def warn(self, message: str) -> None:
        self._line("warn", message)

    def error(self, message: str) -> None:
        self._line("error", message)


class _MaskingHandler(logging.StreamHandler[TextIO]):
    """Log records on stderr as ``logging``'s last resort writes them, each masked whole
    (message and traceback): a store's warning may quote what its backend said."""

    def __init__(self, stream: TextIO, scrub: Callable[[str], str]) -> None:
        super().__init__(stream)
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        """The record as the default format writes it, masked."""
        return self._scrub(super().format(record))


@contextlib.contextmanager
def masked_logging(scrub: Callable[[str], str]) -> Iterator[None]:
    """While serving, the process's warnings (stores, asyncio) go to stderr masked by
    ``scrub`` instead of through ``logging``'s unmasked last resort."""
    handler = _MaskingHandler(sys.stderr, scrub)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


@dataclass
class SidecarHost:
    """A ``PluginApi`` that collects registrations so the sidecar can dispatch to them."""

    id: str = "openclaw-failover"
    registration_mode: shim.RegistrationMode = "full"
    plugin_config: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    logger: shim.PluginLogger = field(default_factory=lambda: _StderrLogger(sys.stderr))
    handlers: dict[str, list[tuple[int, shim.HookHandler]]] = field(default_factory=dict)
    tools: dict[str, shim.ToolSpec] = field(default_factory=dict)
    clis: list[shim.CliSpec] = field(default_factory=list)
    services: list[shim.ServiceSpec] = field(default_factory=list)

    def on(
        self,
        hook: shim.HookName,
        handler: shim.HookHandler,
        *,
        priority: int = 0,
        timeout_ms: int | None = None,
    ) -> None:
        """Keep the handler; higher priority runs first."""
        del timeout_ms
        self.handlers.setdefault(hook, []).append((priority, handler))
        self.handlers[hook].sort(key=lambda item: -item[0])

    def register_tool(self, tool: shim.ToolSpec) -> None:
        """Keep the tool by name."""
        self.tools[tool.name] = tool

    def register_cli(self, cli: shim.CliSpec) -> None:
        """Keep the CLI table (the bridge has its own copy, checked equal by a test)."""
        self.clis.append(cli)

    def register_service(self, service: shim.ServiceSpec) -> None:
        """Keep the service (the sidecar itself is the service; nothing else is started)."""
        self.services.append(service)


async def run_hook(host: SidecarHost, hook: str, event: Any, ctx: Any) -> dict[str, Any] | None:
    """Parse the payloads, run the handlers in priority order; a block or first result wins."""
    types = shim.HOOK_PAYLOADS.get(hook)
    if types is None or hook not in host.handlers:
        return None
    typed_event: Any = shim.from_json(types[0], event)
    typed_ctx: Any = shim.from_json(types[1], ctx)
    result: dict[str, Any] | None = None
    for _, handler in host.handlers[hook]:
        answer = await handler(typed_event, typed_ctx)
        if answer is None:
            continue
        data = answer.to_json()
        if data.get("block") is True:
            return data
        result = result or data
    return result


def answer_within_s(timeout_ms: int) -> float:
    """How long the sidecar works on one request: a little less than the bridge waits
    (``sidecar.timeoutMs``), so its "timed out" reply arrives while the bridge still listens
    and the bridge's fail-safe is applied on an answer, not on its own timer."""
    return max(0.05, timeout_ms * 0.8 / 1000)


@dataclass
class Sidecar:
    """One plugin behind the wire protocol."""

    plugin: FailoverPlugin
    host: SidecarHost
    timeout_s: float

    @classmethod
    def create(cls, plugin: FailoverPlugin, host: SidecarHost | None = None) -> Sidecar:
        """Register ``plugin`` with a fresh host (its stderr logger masks the plugin's secrets)
        and wrap both."""
        host = host or SidecarHost(logger=_StderrLogger(sys.stderr, plugin.scrub))
        register(host, plugin)
        return cls(plugin, host, answer_within_s(plugin.table.settings.sidecar.timeout_ms))

    def hello(self) -> dict[str, Any]:
        """What the bridge learns at start-up: protocol, mode, hooks and the tool policy."""
        return {
            "protocol": PROTOCOL_VERSION,
            "openclaw": shim.OPENCLAW_VERSION,
            "mode": self.plugin.table.settings.mode,
            "hooks": sorted(self.host.handlers),
            "tools": sorted(self.host.tools),
            "policy": self.plugin.guard.policy(),
        }

    async def _answer(self, request: Mapping[str, Any]) -> Any:
        op = request.get("op")
        if op == "hello":
            return self.hello()
        if op == "ping":
            return "pong"
        if op == "hook":
            return await run_hook(
                self.host, str(request.get("hook")), request.get("event"), request.get("ctx")
            )
        if op == "tool":
            tool = self.host.tools.get(str(request.get("name")))
            if tool is None:
                raise LookupError(f"unknown tool {request.get('name')!r}")
            params = request.get("params")
            result = await tool.execute(
                str(request.get("toolCallId") or ""), params if isinstance(params, dict) else {}
            )
            return result.to_json()
        raise ValueError(f"op: found {op!r}; expected hello, hook, tool or ping")

    async def handle(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one request within the per-call timeout; errors become ``ok: false``.

        An error's text is masked: an exception may quote a key, a header or a redis URL, and
        the bridge shows it to the model and the user (``failover_status``) and logs it.
        """
        rid = request.get("id")
        try:
            result = await asyncio.wait_for(self._answer(request), self.timeout_s)
        except TimeoutError:
            return {"id": rid, "ok": False, "error": f"timed out after {self.timeout_s:.1f}s"}
        except Exception as exc:  # the wire seam: report, never crash the sidecar
            error = self.plugin.scrub(f"{type(exc).__name__}: {exc}")
            return {"id": rid, "ok": False, "error": error}
        return {"id": rid, "ok": True, "result": result}

    async def handle_line(self, line: bytes | str) -> dict[str, Any]:
        """Decode one line and answer it; a line that does not decode gets an error reply, under
        its id when the line starts as the bridge writes it (``{"id":n,``), else id null."""
        try:
            request = json.loads(line)
        except (ValueError, RecursionError) as exc:  # bad JSON, not UTF-8, nested too deep
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            return {"id": _leading_id(line), "ok": False, "error": f"malformed JSON line: {why}"}
        if not isinstance(request, dict):
            return {"id": None, "ok": False, "error": "request: expected a JSON object"}
        return await self.handle(request)


_LEADING_ID = re.compile(rb'\A\s*\{\s*"id"\s*:\s*(\d{1,15})\s*,')


def _leading_id(line: bytes | str) -> int | None:
    """The request id of a line that did not decode, read from its head (the bridge writes
    ``{"id":n,...}``), so the bridge fails safe at once instead of after its timeout."""
    raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
    found = _LEADING_ID.match(raw[:64])
    return int(found.group(1)) if found else None


async def serve_stdio(
    sidecar: Sidecar,
    reader: asyncio.StreamReader,
    write: Callable[[str], Awaitable[None]],
) -> None:
    """Answer requests concurrently until ``reader`` reaches EOF; then wait for the last replies."""
    pending: set[asyncio.Task[None]] = set()

    async def one(line: bytes) -> None:
        reply = await sidecar.handle_line(line)
        try:  # JSON.parse refuses NaN: such a reply would be lost and its caller would wait
            text = json.dumps(reply, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            error = f"reply not JSON: {type(exc).__name__}"
            text = json.dumps({"id": reply.get("id"), "ok": False, "error": error}, default=str)
        await write(text + "\n")

    while True:
        try:
            line = await reader.readline()
        except ValueError:  # over the limit: dropped (its caller times out and fails safe)
            print(
                "openclaw-failover sidecar: a request line over the limit was dropped",
                file=sys.stderr,
                flush=True,
            )
            continue
        if not line:
            break
        if line.strip():
            task = asyncio.create_task(one(line))
            pending.add(task)
            task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def sweep_runs(plugin: FailoverPlugin, every_s: float = SWEEP_S) -> None:
    """Until cancelled: write the hard stops of runs whose grace has passed (a gateway may see
    no hook for a while after a run failed)."""
    while True:
        await asyncio.sleep(every_s)
        plugin.flush_runs()


async def run_stdio(sidecar: Sidecar) -> None:
    """Serve on this process's stdin/stdout until EOF or SIGTERM.

    SIGTERM closes stdin as EOF would: the requests in flight are answered and the caller's
    clean-up runs (the audit sink writes what it has queued), instead of a kill mid-write.
    Once serving ends, SIGTERM kills again, so a stuck clean-up cannot make it unkillable.
    Runs that ended unanswered are written as hard stops then: no later pass can answer them.
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_MAX_LINE)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not main thread
        loop.add_signal_handler(signal.SIGTERM, transport.close)
    lock = asyncio.Lock()

    async def write(text: str) -> None:
        async with lock:
            sys.stdout.write(text)
            sys.stdout.flush()

    sweeper = asyncio.create_task(sweep_runs(sidecar.plugin))
    with masked_logging(sidecar.plugin.scrub):
        try:
            await write(json.dumps({"id": 0, "ok": True, "result": sidecar.hello()}) + "\n")
            await serve_stdio(sidecar, reader, write)
        finally:  # a second SIGTERM during the clean-up kills, as usual
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.remove_signal_handler(signal.SIGTERM)
            sweeper.cancel()
            sidecar.plugin.flush_runs(stopping=True)


def _open_store(state: StateSettings, default_dir: str, *, salt: bytes = b"") -> StateStore:
    if state.backend == "memory":
        from .stores.memory import MemoryStateStore

        return MemoryStateStore()
    if state.backend == "redis" and state.url is not None:
        from .stores.redis import RedisStateStore

        return RedisStateStore(
            state.url.reveal(),
            namespace=state.namespace,
            on_unavailable=state.on_unavailable,
            fingerprint_salt=salt,
        )
    from .stores.file import FileStateStore

    return FileStateStore(state.directory or default_dir, on_unavailable=state.on_unavailable)


def build_plugin(
    config: str | None = None, *, kind: str | None = None, environ: Mapping[str, str]
) -> FailoverPlugin:
    """Compose the plugin from the config: route table, store, audit sink and system clock."""
    from ._audit import JsonlAuditSink
    from ._clock import SystemClock
    from .config import require_route_table
    from .config._redact import known_secrets

    table = require_route_table(config, kind=kind, environ=environ)
    settings = table.settings
    state_dir = settings.state.directory or str(Path.home() / ".openclaw" / "failover")
    audit: AuditSink = JsonlAuditSink(
        settings.audit.path or str(Path(state_dir) / "audit.jsonl"),
        max_bytes=settings.audit.max_bytes,
        keep=settings.audit.keep,
    )
    store = _open_store(settings.state, state_dir, salt=table.fingerprint_salt)
    # What the CLI's status masks (cli._ops.masked): the environment, .env, the config file,
    # the resolved keys, the proxy token and the redis password.
    secrets = known_secrets(environ, config_path=table.config_path, table=table)
    return FailoverPlugin(table, store=store, audit=audit, clock=SystemClock(), secrets=secrets)


def write_policy_file(sidecar: Sidecar) -> Path | None:
    """Leave the tool policy where the bridge reads it at registration (its fail-safe seed)."""
    directory = sidecar.plugin.table.settings.state.directory
    if not directory:
        return None
    path = Path(directory) / POLICY_FILE
    text = json.dumps(sidecar.plugin.guard.policy(), indent=2).encode("utf-8")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A temp name of its own (several OpenClaw processes each start a sidecar), mode 0600
        # like every file in the state dir, flushed before the rename: never a torn policy.
        fd, tmp = tempfile.mkstemp(prefix=f".{POLICY_FILE}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return None
    return path
