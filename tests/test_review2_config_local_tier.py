"""A cloud provider listed in tiers.local by mistake: the finding points at that entry.

Its baseUrl comes from the built-in catalog, so the old path (``models.providers.openai``) named
a key the file does not have, and the fix ("point it at 127.0.0.1") could not be followed.
"""

from __future__ import annotations

from collections.abc import Callable

from openclaw_failover._errors import Problem
from openclaw_failover.config import LoadResult
from tests.fixtures.config import base_standalone

Load = Callable[..., LoadResult]


def _remote(result: LoadResult) -> list[Problem]:
    return [p for p in result.errors if p.rule == "local.remote-url"]


def test_catalog_provider_in_tiers_local_points_at_the_entry(load_doc: Load) -> None:
    doc = base_standalone()
    doc["failover"] = {"tiers": {"local": ["ollama", "openai/gpt-5.4-mini"]}}
    (problem,) = _remote(load_doc(doc))
    assert problem.path == "failover.tiers.local[1]"
    assert "remove openai/gpt-5.4-mini from failover.tiers.local" in problem.fix


def test_written_base_url_keeps_its_path_and_names_the_tier_entry(load_doc: Load) -> None:
    doc = base_standalone()
    doc["agents"]["defaults"]["model"]["fallbacks"].append("box/llama")
    doc["models"]["providers"]["box"] = {"baseUrl": "http://10.1.2.3:8080/v1", "apiKey": "x-1"}
    doc["failover"] = {"tiers": {"local": ["box"]}}
    (problem,) = _remote(load_doc(doc))
    assert problem.path == "models.providers.box.baseUrl"
    assert "remove box from failover.tiers.local" in problem.fix


def test_ollama_off_machine_is_unchanged(load_doc: Load) -> None:
    """Local by its api, not by tiers.local: the baseUrl is what to fix."""
    doc = base_standalone()
    doc["models"]["providers"]["ollama"]["baseUrl"] = "http://10.1.2.3:11434"
    (problem,) = _remote(load_doc(doc))
    assert problem.path == "models.providers.ollama.baseUrl"
    assert "tiers.local" not in problem.fix
