"""openclaw-failover: keeps OpenClaw agents answering when model providers fail."""

from __future__ import annotations

from ._errors import (
    AllCandidatesFailed,
    ConfigError,
    FailoverError,
    RequestRejected,
    RouteDriftError,
    StateStoreError,
    StreamInterrupted,
    UpstreamError,
)
from ._model import FailureReason, RouteTable, Tier

__version__ = "0.1.0"

__all__ = [
    "AllCandidatesFailed",
    "ConfigError",
    "FailoverError",
    "FailureReason",
    "RequestRejected",
    "RouteDriftError",
    "RouteTable",
    "StateStoreError",
    "StreamInterrupted",
    "Tier",
    "UpstreamError",
    "__version__",
]
