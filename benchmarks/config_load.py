"""Time to load and validate a 500-line config (20 providers, 100 models), JSON5 and plain JSON.

Run: .venv/bin/python benchmarks/config_load.py [--rounds N]
Prints the median per load for both spellings of the same file, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from openclaw_failover.config import load_route_table

PROVIDERS = 20
MODELS_PER_PROVIDER = 5


def build_document() -> tuple[dict[str, Any], dict[str, str]]:
    """The benchmark document and the environment with its keys."""
    shared: dict[str, Any] = {}
    plugin: dict[str, Any] = {}
    env: dict[str, str] = {}
    for i in range(PROVIDERS):
        pid = f"prov{i:02d}"
        shared[pid] = {
            "baseUrl": f"https://api{i}.example.test/v1",
            "api": "openai-completions",
            "timeoutSeconds": 120,
            "headers": {"x-team": "bench", "x-tier": "cloud"},
            "models": [
                {"id": f"model-{j}", "contextWindow": 128000, "maxTokens": 8192}
                for j in range(MODELS_PER_PROVIDER)
            ],
        }
        plugin[pid] = {
            "auth": [{"key": f"${{PROV{i:02d}_KEY_{k}}}", "profile": f"k{k}"} for k in range(2)],
            "maxConcurrent": 8,
        }
        env.update({f"PROV{i:02d}_KEY_{k}": f"fake-{i}-{k}" for k in range(2)})
    refs = [f"prov{i:02d}/model-{i % MODELS_PER_PROVIDER}" for i in range(PROVIDERS)]
    doc = {
        "agents": {"defaults": {"model": {"primary": refs[0], "fallbacks": refs[1:10]}}},
        "providers": plugin,
        "models": {"providers": shared},
        "failover": {
            "routes": {"batch": {"primary": refs[10], "fallbacks": refs[11:]}},
            "deadlines": {"interactiveFirstTokenS": 40, "intentBudgetS": 150},
            "retries": {"maxAttemptsPerKey": 2},
        },
    }
    return doc, env


def as_json5(value: Any, depth: int = 0) -> str:
    """JSON5 spelling: one key per line, unquoted keys, trailing commas, comments."""
    pad = "  " * (depth + 1)
    if isinstance(value, dict) and ("id" in value or "key" in value):  # one entry per line
        return json.dumps(value)
    if isinstance(value, dict):
        lines = [
            f"{pad}{k if k.isidentifier() else json.dumps(k)}: {as_json5(v, depth + 1)},"
            for k, v in value.items()
        ]
        return "{ // section\n" + "\n".join(lines) + "\n" + "  " * depth + "}"
    if isinstance(value, list):
        return (
            "[\n"
            + "\n".join(f"{pad}{as_json5(v, depth + 1)}," for v in value)
            + "\n"
            + "  " * depth
            + "]"
        )
    return json.dumps(value)


def median_ms(path: Path, env: dict[str, str], rounds: int) -> float:
    """Median wall time of one load in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = load_route_table(path, environ=env)
        times.append((time.perf_counter() - start) * 1000)
        assert result.table is not None, [p.message for p in result.problems]
    return statistics.median(times)


def main() -> None:
    """Write both spellings, load each ``--rounds`` times, print medians and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    doc, keys = build_document()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"HOME": tmp, "OPENCLAW_STATE_DIR": str(Path(tmp) / "state"), **keys}
        text5 = as_json5(doc)
        json5_path = Path(tmp) / "failover.json5"
        json5_path.write_text(text5)
        json_path = Path(tmp) / "failover.json"
        json_path.write_text(json.dumps(doc, indent=2))
        load_route_table(json_path, environ=env)  # warm caches (schemas, imports)
        slow = median_ms(json5_path, env, rounds)
        fast = median_ms(json_path, env, rounds)
        print(
            f"config: {len(text5.splitlines())} lines JSON5, {PROVIDERS} providers, "
            f"{PROVIDERS * MODELS_PER_PROVIDER} models, {rounds} rounds"
        )
        print(f"load+validate JSON5: median {slow:.1f} ms")
        print(f"load+validate JSON : median {fast:.1f} ms")
        print(f"ratio JSON5/JSON   : {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
