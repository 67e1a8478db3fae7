"""Which fault answers which request: rules matched by key, model and request index, thread-safe.

Rules are tried in the order they were added; the first one that matches and still has uses
left wins, and a rule with ``times`` set is used up after that many requests. So
``script(a, b, c)`` is a queue (three one-shot rules) and ``always(f)`` is a standing rule.
When nothing matches, the default fault (a normal answer) plays.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._faults import Fault, Ok, fault_from_json, fault_to_json

__all__ = ["RecordedRequest", "Rule", "Script"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One scripted behaviour: ``fault`` for requests matching every given selector.

    ``key`` is the API key the request carries (bearer or ``x-api-key``); ``model`` the model it
    names; ``request`` the 0-based index among all chat requests this server received.
    ``times`` None means "every matching request".
    """

    fault: Fault
    key: str | None = None
    model: str | None = None
    request: int | None = None
    times: int | None = None

    def matches(self, *, key: str | None, model: str, index: int) -> bool:
        """Whether a request with this key, model and index is selected."""
        return (
            (self.key is None or self.key == key)
            and (self.model is None or self.model == model)
            and (self.request is None or self.request == index)
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for the subprocess control endpoint)."""
        return {
            "fault": fault_to_json(self.fault),
            "key": self.key,
            "model": self.model,
            "request": self.request,
            "times": self.times,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        """Rebuild from :meth:`to_json` output; raises ValueError naming the problem."""
        return cls(
            fault=fault_from_json(data["fault"]),
            key=data.get("key"),
            model=data.get("model"),
            request=data.get("request"),
            times=data.get("times"),
        )


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it. ``headers`` keys are lower-case."""

    index: int
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    json: Any
    key: str | None
    model: str
    fault: str
    at: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class Script:
    """The rule list plus the default, shared between the test thread and the server thread."""

    def __init__(self, default: Fault | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._left: list[int | None] = []
        self.default: Fault = default if default is not None else Ok()

    def add(self, rule: Rule) -> None:
        """Append ``rule`` after the existing ones."""
        with self._lock:
            self._rules.append(rule)
            self._left.append(rule.times)

    def clear(self) -> None:
        """Drop every rule (the default stays)."""
        with self._lock:
            self._rules.clear()
            self._left.clear()

    def pending(self) -> int:
        """How many one-shot uses are still unplayed (standing rules count 0)."""
        with self._lock:
            return sum(n for n in self._left if n is not None)

    def pick(self, *, key: str | None, model: str, index: int) -> Fault:
        """The fault for one request, using up one use of the rule that gave it."""
        with self._lock:
            for n, rule in enumerate(self._rules):
                left = self._left[n]
                if left == 0 or not rule.matches(key=key, model=model, index=index):
                    continue
                if left is not None:
                    self._left[n] = left - 1
                return rule.fault
            return self.default
