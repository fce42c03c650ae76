#!/usr/bin/env bash
# Builds the addon, then runs every suite against ringhttp and against Node's own http
# (the oracle: the suites are the same, only RINGHTTP_IMPL differs).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# devDependencies (the `ws` package for the real WebSocket upgrade test; skipped without it).
[ -d node_modules/ws ] || npm install --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 \
  || echo "npm install failed: the ws round-trip test will be skipped"
node build.js
status=0
for impl in ringhttp node; do
  echo "== RINGHTTP_IMPL=$impl"
  RINGHTTP_IMPL=$impl node --test --test-timeout=30000 test/*.test.js || status=1
done
echo "== RINGHTTP_IMPL=ringhttp RINGHTTP_BACKEND=epoll"
RINGHTTP_BACKEND=epoll node --test --test-timeout=30000 test/*.test.js || status=1
exit $status
