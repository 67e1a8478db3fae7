#!/usr/bin/env bash
# Create (or reuse) the project virtualenv and install the package into it.
# Usage: scripts/bootstrap.sh [extras]   e.g. "dev" or "plots"; prints nothing on success but steps.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OPENCLAW_FAILOVER_VENV:-$root/.venv}"
extras="${1:-}"
py="${PYTHON:-python3}"

if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "bootstrap: Python >= 3.11 is required; found $("$py" --version 2>&1)" >&2
  exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "bootstrap: creating virtualenv $venv"
  "$py" -m venv "$venv"
fi
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing openclaw-failover${extras:+[$extras]} into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  spec="$root"
  [ -n "$extras" ] && spec="$root[$extras]"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$spec"
  touch "$stamp"
fi
