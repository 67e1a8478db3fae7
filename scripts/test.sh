#!/usr/bin/env bash
# Quick-start command 2: install everything the suite needs and run it.
#   - the virtualenv with the package and its dev extras
#   - redis-server (Debian package) for the shared-state tests, wrk for a benchmark smoke test
#   - llama.cpp's server (xllamacpp wheel) and the SmolLM2 model for the local-tier test
#   - Node 24 and OpenClaw 2026.9.6 from the npm registry, into a cache folder
# then ruff, mypy --strict and pytest (every marker, the slow real-component ones included).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${OPENCLAW_FAILOVER_VENV:-$root/.venv}"
export OPENCLAW_FAILOVER_VENV="$venv"

bash scripts/bootstrap.sh dev

# redis-server for the shared-state tests, wrk for the proxy benchmark's smoke test
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
if [ -n "$missing" ]; then
  echo "test: installing$missing (Debian packages)"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086  # one word per package
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
fi
export OPENCLAW_FAILOVER_REQUIRE_REDIS=1

bash scripts/install-local-llm.sh "$venv"
OPENCLAW_BIN_DIR="$(bash scripts/install-openclaw.sh | tail -n 1)"
export OPENCLAW_BIN_DIR

echo "test: ruff"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "test: mypy --strict"
"$venv/bin/mypy"

echo "test: pytest"
set +e
"$venv/bin/pytest" -p no:cacheprovider --cov --cov-report=term:skip-covered "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
