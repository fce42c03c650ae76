#!/usr/bin/env bash
# Express's and Fastify's own test suites, unchanged, on Node's http and then with the
# `ringhttp/register` preload, side by side. Not part of CI (size); see the README for the
# figures and the differences.
#
#   EXPRESS_DIR=/path/to/express FASTIFY_DIR=/path/to/fastify bash test/frameworks.sh
#
# Either checkout may be absent (that suite is skipped with a message). The checkouts get
# `npm install` if they have no node_modules. FASTIFY_FILES narrows Fastify to some test
# files (its whole suite takes minutes); RINGHTTP_BACKEND picks the backend as usual.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
register="$here/register.js"
[ -f "$here/ringhttp.node" ] || node "$here/build.js"
status=0

deps() {
  [ -d "$1/node_modules" ] || (cd "$1" && npm install --no-audit --no-fund --ignore-scripts >/dev/null 2>&1) \
    || { echo "npm install failed in $1"; return 1; }
}

# Express: mocha as its package.json runs it, plus --require of the preload.
if [ -n "${EXPRESS_DIR:-}" ] && [ -f "$EXPRESS_DIR/package.json" ]; then
  deps "$EXPRESS_DIR" || status=1
  for mode in node ringhttp; do
    pre=()
    [ "$mode" = ringhttp ] && pre=(--require "$register")
    echo "== Express on $mode"
    out="/tmp/ringhttp-express-$mode.log"
    (cd "$EXPRESS_DIR" && timeout 600 npx mocha "${pre[@]}" --require test/support/env --reporter dot \
      --check-leaks test/ test/acceptance/) > "$out" 2>&1
    rc=$?
    grep -E "passing|failing|pending|^  [0-9]+\) " "$out" || echo "(no summary: exit $rc, see $out)"
    [ "$rc" = 0 ] || [ "$mode" = node ] || status=1
  done
else
  echo "== Express: skipped (set EXPRESS_DIR to an expressjs/express v5 checkout)"
fi

# Fastify: its runner (borp, TAP output) with NODE_OPTIONS=--require of the preload.
if [ -n "${FASTIFY_DIR:-}" ] && [ -f "$FASTIFY_DIR/package.json" ]; then
  deps "$FASTIFY_DIR" || status=1
  for mode in node ringhttp; do
    opts="${NODE_OPTIONS:-}"
    [ "$mode" = ringhttp ] && opts="$opts --require $register"
    echo "== Fastify on $mode"
    # shellcheck disable=SC2086
    (cd "$FASTIFY_DIR" && NODE_OPTIONS="$opts" timeout 1800 npx borp --reporter tap ${FASTIFY_FILES:-} 2>/dev/null) \
      > "/tmp/ringhttp-fastify-$mode.tap"
    grep -E "^# (tests|pass|fail|cancelled|skipped|todo)" "/tmp/ringhttp-fastify-$mode.tap" | tail -6
    grep -E "^\s*not ok" "/tmp/ringhttp-fastify-$mode.tap" | grep -v "# SKIP\|# TODO" | head -40
  done
  echo "(full TAP: /tmp/ringhttp-fastify-{node,ringhttp}.tap)"
else
  echo "== Fastify: skipped (set FASTIFY_DIR to a fastify/fastify v5 checkout)"
fi
exit $status
