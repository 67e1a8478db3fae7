"""Rules beyond the schema, run over the normalised parts; each finding has a stable rule id."""

from __future__ import annotations

from . import _rules_chain, _rules_files, _rules_providers, _rules_settings
from ._normalise import Normalised


def check_rules(n: Normalised) -> None:
    """Append every rule's findings to ``n.problems``."""
    _rules_files.check(n)
    _rules_chain.check(n)
    _rules_providers.check(n)
    _rules_settings.check(n)
