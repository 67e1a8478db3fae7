#!/usr/bin/env bash
# Quick-start command 1: install what the demo needs, then run it on the embedded default.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OPENCLAW_FAILOVER_VENV:-$root/.venv}"
bash "$root/scripts/bootstrap.sh" plots
# The real small local model is optional for the demo; without it the local tier is simulated.
bash "$root/scripts/install-local-llm.sh" "$venv" || echo "demo: local model not installed; the local tier will be simulated"
exec "$venv/bin/openclaw-failover" demo "$@"
