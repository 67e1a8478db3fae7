"""`openclaw-failover sidecar` on SIGTERM (OpenClaw or a supervisor stopping it): it finishes
what it was answering and closes its audit log, like at EOF, instead of dying mid-write."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from tests.test_plugin_sidecar_process import _read_reply, sidecar

__all__ = ["sidecar"]  # the fixture, used by name


def test_sigterm_ends_the_sidecar_cleanly_with_its_audit_written(
    sidecar: Any, tmp_path: Path
) -> None:
    """A blocked tool call, then SIGTERM at once: exit status 0 and the tool_blocked line is
    in audit.jsonl (the queued audit records are written before the process ends)."""
    proc, _ = sidecar
    assert _read_reply(proc.stdout)["id"] == 0
    event = {"toolName": "exec", "params": {"command": "ls"}, "runId": "r9", "toolCallId": "t"}
    request = {"id": 1, "op": "hook", "hook": "before_tool_call", "event": event, "ctx": {}}
    proc.stdin.write(json.dumps(request) + "\n")
    proc.stdin.flush()
    assert _read_reply(proc.stdout)["result"]["block"] is True
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    audit = tmp_path / "failover" / "audit.jsonl"
    events = [json.loads(line)["event"] for line in audit.read_text("utf-8").splitlines()]
    assert "tool_blocked" in events
