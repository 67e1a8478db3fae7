"""Chain rules: drift, duplicates, banned models, capability downgrades."""

from __future__ import annotations

from .._catalog import KNOWN_PROVIDERS
from .._errors import Problem
from .._model import Candidate, Tier
from ._jsonpath import join
from ._normalise import Normalised, Placed
from ._view import dig


def _models_closed(n: Normalised, provider: str) -> bool:
    """Whether the listed models are all there is.

    For built-in providers OpenClaw merges the list with its own catalog (``models.mode``
    ``merge``, the default), so an unlisted model may still exist; ``replace`` closes the list.
    """
    return provider not in KNOWN_PROVIDERS or dig(n.view.doc, "models", "mode") == "replace"


def _drift(n: Normalised, placed: Placed) -> Problem | None:
    cand = placed.candidate
    provider = n.providers.get(cand.provider)
    if provider is None:
        return Problem(
            "chain.drift",
            placed.path,
            f"{cand.ref!r} whose provider {cand.provider!r} is not defined",
            "a provider from models.providers, the providers block, or the built-in catalog",
            f'define models.providers["{cand.provider}"] with baseUrl and api, '
            "or fix the provider name",
        )
    if provider.models and cand.model not in provider.models and _models_closed(n, cand.provider):
        known = ", ".join(sorted(provider.models)[:5])
        return Problem(
            "chain.drift",
            placed.path,
            f"{cand.ref!r} whose model is not in {cand.provider}'s models",
            f"one of: {known}",
            f'add {{ id: "{cand.model}" }} to models.providers.{cand.provider}.models, '
            "or fix the model id",
        )
    return None


def _duplicates(route: list[Placed]) -> list[Problem]:
    seen: dict[tuple[str, str], str] = {}
    out = []
    for placed in route:
        key = (placed.candidate.provider, placed.candidate.model)
        if key in seen:
            out.append(
                Problem(
                    "chain.duplicate",
                    placed.path,
                    f"{placed.candidate.ref!r} a second time (first at {seen[key]})",
                    "each provider/model once per chain",
                    "remove the repeated entry; a candidate's keys rotate on their own",
                )
            )
        else:
            seen[key] = placed.path
    return out


def _banned(n: Normalised, placed: Placed) -> Problem | None:
    banned = n.settings.banned_models
    cand = placed.candidate
    if cand.ref not in banned and cand.model not in banned:
        return None
    return Problem(
        "chain.banned",
        placed.path,
        f"{cand.ref!r}, which bannedModels lists",
        "no banned model in any chain",
        f"remove {cand.ref} from the chain, or from {join(n.view.settings_path, 'bannedModels')}",
    )


def _downgrade(n: Normalised, primary: Candidate, placed: Placed) -> Problem | None:
    first = n.providers.get(primary.provider)
    other = n.providers.get(placed.candidate.provider)
    if first is None or other is None or placed.candidate.tier is Tier.LOCAL:
        return None
    a, b = first.models.get(primary.model), other.models.get(placed.candidate.model)
    if a is None or b is None:
        return None
    lost = []
    if a.context_window and b.context_window and b.context_window < a.context_window:
        lost.append(f"context window {b.context_window} < {a.context_window}")
    if a.supports_tools is True and b.supports_tools is False:
        lost.append("no tool support")
    if not lost:
        return None
    return Problem(
        "chain.capability-downgrade",
        placed.path,
        f"{placed.candidate.ref!r} with {' and '.join(lost)} than the primary {primary.ref}",
        "fallbacks at least as capable as the primary",
        "accept the downgrade, or pick a fallback with the same window and tools",
        severity="warning",
    )


def route_problems(
    n: Normalised, route: list[Placed], *, has_primary: bool = True
) -> list[Problem]:
    """Duplicates, drift, bans and downgrades in one route's entries (primary first).

    ``has_primary`` False: the chain inherits its primary (an agent's ``{fallbacks}``), so no
    entry is compared with one for capability downgrades.
    """
    out = _duplicates(route)
    primary = route[0].candidate if route and has_primary else None
    for i, placed in enumerate(route):
        downgrade = _downgrade(n, primary, placed) if primary is not None and i else None
        out += [p for p in (_drift(n, placed), _banned(n, placed), downgrade) if p is not None]
    return out


def check(n: Normalised) -> None:
    """Drift, duplicates, bans and downgrades in every route."""
    by_route: dict[str, list[Placed]] = {}
    for placed in n.placed:
        by_route.setdefault(placed.route, []).append(placed)
    for entries in by_route.values():
        n.problems.extend(route_problems(n, entries))
