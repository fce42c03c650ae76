#!/usr/bin/env bash
# Runs every test of the project: unit tests, socket-level integration tests (each on both
# backends), the suite again with the epoll backend forced, ringload's tests, the fuzz
# targets for a bounded time, and the Node.js binding suites (against ringhttp and against
# Node's own http as the oracle).
#   FUZZ_SECONDS=N  seconds per fuzz target (default 20)
set -euo pipefail
cd "$(dirname "$0")"

if cargo nextest --version >/dev/null 2>&1; then
  run() { cargo nextest run --no-fail-fast "$@"; }
else
  run() { cargo test --no-fail-fast "$@"; }
fi

echo "== unit and integration tests (auto backend)"
run --workspace
cargo test --doc -p ringhttp

echo "== again with RINGHTTP_BACKEND=epoll"
RINGHTTP_BACKEND=epoll run -p ringhttp -p ringhttp-tests

echo "== fuzz targets, ${FUZZ_SECONDS:-20}s each"
(cd engine/fuzz && cargo test --quiet && ./run.sh "${FUZZ_SECONDS:-20}")

if [ -x bindings/node/test/run.sh ]; then
  echo "== Node.js bindings"
  bindings/node/test/run.sh
fi
