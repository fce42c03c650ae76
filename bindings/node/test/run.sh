#!/usr/bin/env bash
# Builds the addon, then runs every suite against ringhttp and against Node's own http
# (the oracle: the suites are the same, only RINGHTTP_IMPL differs).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# devDependencies from the registry: `ws` (the WebSocket upgrade test; skipped without it),
# typescript and @types/node (the type check below; required), the frameworks and
# middleware of test/middleware.test.js (skipped without them).
missing=0
for d in ws typescript @types/node express express-session compression morgan cookie-parser \
  multer helmet cors koa @koa/router supertest; do
  [ -d "node_modules/$d" ] || missing=1
done
[ "$missing" = 0 ] || npm install --no-audit --no-fund --ignore-scripts >/dev/null 2>&1 \
  || echo "npm install failed: the ws and middleware tests will be skipped, the type check fails"
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
