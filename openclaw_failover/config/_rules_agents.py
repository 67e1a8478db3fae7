"""Per-agent chains: the default chain's checks at each agent's own path.

``agents.entries.<id>.model`` (and the legacy ``agents.list[].model``) is OpenClaw's chain for
that agent, and the one ``install --agents`` copies into a plugin route. A provider removed
from ``models.providers`` but still named there is the same drift as in the default chain.
The agents are those install routes (``_install_plan.agent_specs``): ``agents.entries`` first,
then a legacy ``agents.list`` entry with a string id that ``agents.entries`` does not hold.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .._errors import Problem
from ._chain import ChainEntry, parse_chain
from ._jsonpath import join
from ._normalise import Normalised, place_entries
from ._rules_chain import route_problems
from ._view import dig

#: The provider install writes into ``models.providers`` for the proxy itself: a model
#: ``failover/<route>`` is an agent already routed, its chain checked as a plugin route.
PROXY_PROVIDER_ID = "failover"

#: OpenClaw reads a chain without primary as "inherit the shared primary", not as a fault.
_NOT_FAULTS_FOR_AGENTS = frozenset({"chain.no-primary"})


def agent_models(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(path, model)`` of each agent with a model of its own, in the order install reads."""
    found: list[tuple[str, Any]] = []
    seen: set[str] = set()
    entries = dig(doc, "agents", "entries")
    for aid, spec in entries.items() if isinstance(entries, dict) else ():
        if isinstance(spec, dict):
            seen.add(str(aid))
            if spec.get("model") is not None:
                found.append((join("agents.entries", aid, "model"), spec["model"]))
    listed = dig(doc, "agents", "list")
    for i, spec in enumerate(listed if isinstance(listed, list) else ()):
        aid = spec.get("id") if isinstance(spec, dict) else None
        if isinstance(aid, str) and aid not in seen:
            seen.add(aid)
            if spec.get("model") is not None:
                found.append((join("agents.list", i, "model"), spec["model"]))
    return found


def _is_routed(ref: Any) -> bool:
    return isinstance(ref, str) and ref.strip().startswith(f"{PROXY_PROVIDER_ID}/")


def agent_problems(n: Normalised, path: str, model: Any) -> list[Problem]:
    """What the default chain's rules find in one agent's ``model``."""
    problems: list[Problem] = []
    entries = parse_chain(model, path=path, problems=problems)
    problems += _missing_routes(n, [e for e in entries if _is_routed(e.ref)])
    entries = [e for e in entries if not _is_routed(e.ref)]
    placed = place_entries(n, f"agent:{path}", entries, problems)
    has_primary = isinstance(model, str) or (isinstance(model, dict) and "primary" in model)
    problems += route_problems(n, placed, has_primary=has_primary)
    return [p for p in problems if p.rule not in _NOT_FAULTS_FOR_AGENTS]


def _missing_routes(n: Normalised, routed: list[ChainEntry]) -> list[Problem]:
    """``failover/<route>`` entries naming a route the proxy does not have (every request of
    that agent would get a 404)."""
    problems: list[Problem] = []
    for entry in routed:
        name = entry.ref.strip().partition("/")[2].strip()
        if name not in n.routes:
            problems.append(
                Problem(
                    "chain.drift",
                    entry.path,
                    f"route {name!r}, which the failover proxy does not have",
                    f"one of its routes ({', '.join(sorted(n.routes)) or 'none'})",
                    f"add routes.{name} to the plugin block, or point the agent at an existing "
                    "route (install --agents writes both)",
                )
            )
    return problems


def check(n: Normalised) -> None:
    """Every agent's chain, each finding once (a path already reported is not repeated), as a
    warning: an agent's chain is OpenClaw's to run unless install routed it (then its refs are
    ``failover/<route>``, checked as a plugin route), and its providers may come from that
    agent's own ``models.json``, which is not read here; a finding must not stop ``serve``."""
    seen = {(p.rule, p.path) for p in n.problems}
    for path, model in agent_models(n.view.doc):
        for problem in agent_problems(n, path, model):
            if (problem.rule, problem.path) not in seen:
                seen.add((problem.rule, problem.path))
                n.problems.append(dataclasses.replace(problem, severity="warning"))
