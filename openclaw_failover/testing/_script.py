"""Which fault answers which request: rules matched by key, model and request index, thread-safe.

Rules are tried in the order they were added; the first one that matches and still has uses
left wins, and a rule with ``times`` set is used up after that many requests. So
``script(a, b, c)`` is a queue (three one-shot rules) and ``always(f)`` is a standing rule.
When nothing matches, the default fault (a normal answer) plays. A :class:`Mix` in place of a
fault draws one of its faults per request, at random by weight from its seed (a chaos soak's
upstream), so the same seed replays the same sequence.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._faults import Fault, Ok, fault_from_json, fault_to_json

__all__ = ["Mix", "RecordedRequest", "Rule", "Script"]


@dataclass(frozen=True, slots=True)
class Mix:
    """A random fault per request: ``choices`` are ``(weight, fault)`` pairs, drawn by weight
    from a generator seeded with ``seed`` (draws happen under the script's lock)."""

    choices: tuple[tuple[float, Fault], ...]
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.choices or any(w <= 0 for w, _ in self.choices):
            raise ValueError(f"mix: found weights {[w for w, _ in self.choices]}; expected > 0")
        object.__setattr__(self, "_rng", random.Random(self.seed))  # noqa: S311  # fault mix, not crypto

    @classmethod
    def of(cls, choices: Sequence[tuple[float, Fault]], *, seed: int = 0) -> Mix:
        """A mix from any sequence of ``(weight, fault)`` pairs."""
        return cls(tuple((float(w), f) for w, f in choices), seed)

    def draw(self) -> Fault:
        """The next fault of the sequence."""
        faults = [f for _, f in self.choices]
        return self._rng.choices(faults, weights=[w for w, _ in self.choices])[0]

    def to_json(self) -> dict[str, Any]:
        """``{"kind": "mix", "seed": ..., "choices": [[weight, fault], ...]}``."""
        choices = [[w, fault_to_json(f)] for w, f in self.choices]
        return {"kind": "mix", "seed": self.seed, "choices": choices}


Scripted = Fault | Mix


def scripted_to_json(fault: Scripted) -> dict[str, Any]:
    """A fault or a mix as JSON (``fault_to_json`` for faults)."""
    return fault.to_json() if isinstance(fault, Mix) else fault_to_json(fault)


def scripted_from_json(data: Mapping[str, Any]) -> Scripted:
    """Rebuild :func:`scripted_to_json` output; raises ValueError naming the problem."""
    if data.get("kind") != "mix":
        return fault_from_json(data)
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise ValueError(f"mix choices: found {choices!r}; expected a list of [weight, fault]")
    return Mix.of([(w, fault_from_json(f)) for w, f in choices], seed=int(data.get("seed", 0)))


@dataclass(frozen=True, slots=True)
class Rule:
    """One scripted behaviour: ``fault`` for requests matching every given selector.

    ``key`` is the API key the request carries (bearer or ``x-api-key``); ``model`` the model it
    names; ``request`` the 0-based index among all chat requests this server received.
    ``times`` None means "every matching request".
    """

    fault: Scripted
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
            "fault": scripted_to_json(self.fault),
            "key": self.key,
            "model": self.model,
            "request": self.request,
            "times": self.times,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        """Rebuild from :meth:`to_json` output; raises ValueError naming the problem."""
        return cls(
            fault=scripted_from_json(data["fault"]),
            key=data.get("key"),
            model=data.get("model"),
            request=data.get("request"),
            times=data.get("times"),
        )


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it. ``headers`` keys are lower-case; ``played`` is the
    fault it was answered with (``fault`` is that fault's kind name)."""

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
    played: Fault | None = None


class Script:
    """The rule list plus the default, shared between the test thread and the server thread."""

    def __init__(self, default: Scripted | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._left: list[int | None] = []
        self.default: Scripted = default if default is not None else Ok()

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
                return _drawn(rule.fault)
            return _drawn(self.default)


def _drawn(fault: Scripted) -> Fault:
    return fault.draw() if isinstance(fault, Mix) else fault
