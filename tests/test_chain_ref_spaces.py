"""Spaces in a chain's model refs: around the ref or its parts they are trimmed, as OpenClaw's
own parser does (it was sent upstream as "m1 ", a model nobody has); inside, the ref is refused
(``"gw/m2 ${KEY}"`` would send the key in every request's model id)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from openclaw_failover.config import load_route_table

KEY = "sk-gw-key-SECRET-0123456789ab"


def _load(tmp_path: Path, model: dict[str, Any]) -> Any:
    document = {
        "agents": {"defaults": {"model": model}},
        "models": {
            "providers": {"gw": {"baseUrl": "http://127.0.0.1:7/v1", "api": "openai-completions"}}
        },
        "providers": {"gw": {"auth": [{"key": "${GW_API_KEY}", "profile": "main"}]}},
        "failover": {"state": {"backend": "memory"}, "proxy": {"port": 9}},
    }
    path = tmp_path / "failover.json5"
    path.write_text(json.dumps(document))
    env = {**os.environ, "HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "s")}
    env["GW_API_KEY"] = KEY
    env.pop("OPENCLAW_CONFIG_PATH", None)
    return load_route_table(path, environ=env)


def test_spaces_around_a_ref_are_trimmed_as_openclaw_does(tmp_path: Path) -> None:
    result = _load(tmp_path, {"primary": " gw/m1 ", "fallbacks": ["gw / m2"]})
    assert result.table is not None, result.problems
    route = result.table.routes["auto"]
    assert [(c.provider, c.model) for c in route.candidates] == [("gw", "m1"), ("gw", "m2")]


def test_a_space_inside_a_model_id_is_refused_without_showing_the_key(tmp_path: Path) -> None:
    result = _load(tmp_path, {"primary": "gw/m1", "fallbacks": ["gw/m2 ${GW_API_KEY}"]})
    assert result.table is None
    found = [p for p in result.problems if p.rule == "chain.invalid"]
    assert len(found) == 1, result.problems
    assert found[0].path == "agents.defaults.model.fallbacks[0]"
    assert "no space inside" in found[0].expected
    assert KEY not in repr(result.problems)
