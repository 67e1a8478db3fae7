"""A fake provider as a separate process, for multi-process tests and benchmarks.

``python -m openclaw_failover.testing.fake_provider --port 0 --dialect openai`` binds
127.0.0.1, prints one JSON line ``{"port": N, "url": "http://127.0.0.1:N/v1"}`` and serves
until SIGTERM/SIGINT or until its parent process goes away. Rules come from ``--rules`` (a JSON
list of :meth:`Rule.to_json` objects) and, at run time, from the control endpoint
``POST /_fake/rules``; ``GET /_fake/requests`` returns the request log.
:class:`FakeProviderProcess` does all of that from a test.

``--dialect`` is a registered name (``openai``, ``anthropic``, ``ollama``) or
``package.module:ClassName`` for a dialect class defined elsewhere.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import httpx

from ._dialect import Dialect
from ._fake_openai import OpenAIDialect
from ._fake_server import FakeProviderServer
from ._script import Rule

__all__ = ["DIALECTS", "FakeProviderProcess", "load_dialect", "main"]


def _anthropic() -> Dialect:
    from ._fake_anthropic import AnthropicDialect

    return AnthropicDialect()


def _ollama() -> Dialect:
    from ._fake_ollama import OllamaDialect

    return OllamaDialect()


#: Dialects known by name.
DIALECTS: Mapping[str, Callable[[], Dialect]] = {
    "anthropic": _anthropic,
    "ollama": _ollama,
    "openai": OpenAIDialect,
}


def load_dialect(spec: str) -> Dialect:
    """A dialect by registered name or ``module:Class``; ValueError names what was wrong."""
    if spec in DIALECTS:
        return DIALECTS[spec]()
    module, _, name = spec.partition(":")
    if not name:
        raise ValueError(f"--dialect: found {spec!r}; expected {sorted(DIALECTS)} or module:Class")
    made: Dialect = getattr(importlib.import_module(module), name)()
    return made


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until told to stop; returns the exit status."""
    parser = argparse.ArgumentParser(prog="fake_provider", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 = an ephemeral port")
    parser.add_argument("--dialect", default="openai")
    parser.add_argument("--models", default="fake-model", help="comma-separated model ids")
    parser.add_argument("--rules", default="[]", help="JSON list of rules")
    parser.add_argument("--hang-limit-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        dialect = load_dialect(args.dialect)
        rules = [Rule.from_json(r) for r in json.loads(args.rules)]
    except (ValueError, KeyError, TypeError, ImportError, AttributeError) as exc:
        print(f"fake_provider: {exc}", file=sys.stderr)
        return 2
    server = FakeProviderServer(
        dialect,
        models=[m for m in args.models.split(",") if m],
        hang_limit_s=args.hang_limit_s,
        port=args.port,
        control=True,
    )
    for rule in rules:
        server.rules.add(rule)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    parent = os.getppid()
    with server:
        print(json.dumps({"port": server.port, "url": server.url}), flush=True)
        while not stop.wait(0.25):
            if os.getppid() != parent:  # the parent died: do not outlive it
                break
    return 0


class FakeProviderProcess:
    """Runs :func:`main` in a child process; ``url``, ``add_rules``, ``requests``, ``stop``."""

    def __init__(
        self,
        *,
        dialect: str = "openai",
        models: Sequence[str] = ("fake-model",),
        rules: Sequence[Rule] = (),
        hang_limit_s: float = 30.0,
    ) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "openclaw_failover.testing.fake_provider",
            "--port",
            "0",
            "--dialect",
            dialect,
            "--models",
            ",".join(models),
            "--rules",
            json.dumps([r.to_json() for r in rules]),
            "--hang-limit-s",
            str(hang_limit_s),
        ]
        self._proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.url = ""

    def start(self, *, timeout_s: float = 20.0) -> Self:
        """Start the child and wait for its port line."""
        # stderr is inherited: an unread pipe would fill up and stall the child.
        proc = subprocess.Popen(  # noqa: S603 -- our own interpreter and module, fixed argv
            self._argv, stdout=subprocess.PIPE, stderr=None, text=True
        )
        self._proc = proc
        found: list[str] = []
        stdout = proc.stdout
        assert stdout is not None  # stdout=PIPE
        reader = threading.Thread(target=lambda: found.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        if not found or not found[0].strip():
            self.stop()
            raise RuntimeError(f"fake provider process did not report its port: {found}")
        info = json.loads(found[0])
        self.port, self.url = int(info["port"]), str(info["url"])
        return self

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        return f"http://127.0.0.1:{self.port}"

    def add_rules(self, *rules: Rule) -> None:
        """Append rules to the running child's script."""
        body = [r.to_json() for r in rules]
        httpx.post(f"{self.base_url}/_fake/rules", json=body, timeout=10).raise_for_status()

    def clear_rules(self) -> None:
        """Drop every rule in the child."""
        httpx.delete(f"{self.base_url}/_fake/rules", timeout=10).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """The child's request log (bodies as parsed JSON)."""
        reply = httpx.get(f"{self.base_url}/_fake/requests", timeout=10)
        reply.raise_for_status()
        log: list[dict[str, Any]] = reply.json()
        return log

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    raise SystemExit(main())
