"""A warning that a flood cannot turn into a flood of log lines."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("openclaw_failover.proxy")

#: At most one warning of a kind per this many seconds.
WARN_EVERY_S = 10.0


@dataclass(slots=True)
class Throttle:
    """One warning of a kind per ``every_s`` at most; the next one says how many were held
    back meanwhile."""

    every_s: float = WARN_EVERY_S
    last: float = float("-inf")
    held: int = 0

    def warn(self, now: float, message: str, *args: object) -> None:
        """Log ``message % args`` unless one went out less than ``every_s`` ago."""
        if now - self.last < self.every_s:
            self.held += 1
            return
        held, self.held, self.last = self.held, 0, now
        if held:
            log.warning(
                message + " (and %d more like it in the last %.0f s)", *args, held, self.every_s
            )
        else:
            log.warning(message, *args)
