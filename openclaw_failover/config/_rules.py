"""Rules beyond the schema, run over the normalised parts; each finding has a stable rule id."""

from __future__ import annotations

from ._normalise import Normalised


def check_rules(n: Normalised) -> None:
    """Append every rule's findings to ``n.problems``."""
    from . import _rules_chain

    _rules_chain.check(n)
