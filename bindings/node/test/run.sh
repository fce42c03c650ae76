#!/usr/bin/env bash
# Builds the addon, then runs every suite against ringhttp and against Node's own http
# (the oracle: the suites are the same, only RINGHTTP_IMPL differs).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# devDependencies from the registry: `ws` (the WebSocket upgrade test; skipped without it),
# typescript and @types/node (the type check below; required).
[ -d node_modules/ws ] && [ -d node_modules/typescript ] && [ -d node_modules/@types/node ] \
  || npm install --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 \
  || echo "npm install failed: the ws round-trip test will be skipped, the type check fails"
node build.js
status=0
for impl in ringhttp node; do
  echo "== RINGHTTP_IMPL=$impl"
  RINGHTTP_IMPL=$impl node --test --test-timeout=30000 test/*.test.js || status=1
done
echo "== RINGHTTP_IMPL=ringhttp RINGHTTP_BACKEND=epoll"
RINGHTTP_BACKEND=epoll node --test --test-timeout=30000 test/*.test.js || status=1
echo "== index.d.ts: tsc --strict on test/types (ESM and CJS users of 'ringhttp')"
node_modules/.bin/tsc -p test/types || status=1
echo "== the npm package: pack, install outside the repo, serve (test/pack.sh)"
bash test/pack.sh || status=1
exit $status
