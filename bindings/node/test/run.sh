#!/usr/bin/env bash
# Builds the addon, then runs every suite against ringhttp and against Node's own http
# (the oracle: the suites are the same, only RINGHTTP_IMPL differs).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
node build.js
status=0
for impl in ringhttp node; do
  echo "== RINGHTTP_IMPL=$impl"
  RINGHTTP_IMPL=$impl node --test --test-timeout=30000 test/*.test.js || status=1
done
echo "== RINGHTTP_IMPL=ringhttp RINGHTTP_BACKEND=epoll"
RINGHTTP_BACKEND=epoll node --test --test-timeout=30000 test/*.test.js || status=1
exit $status
