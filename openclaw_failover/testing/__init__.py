"""Test helpers that ship with the product: fake clock, fault-injecting fake providers."""

from __future__ import annotations

from ._capture import CapturingAuditSink
from ._clock import FakeClock

__all__ = ["CapturingAuditSink", "FakeClock"]
