#!/usr/bin/env bash
# Runs every test of the project: unit tests, socket-level integration tests (each on both
# backends), the engine's suite again with the epoll backend forced (each case once),
# ringload's tests, the fuzz targets for a bounded time, and the Node.js binding suites
# (against ringhttp and against Node's own http as the oracle).
#   FUZZ_SECONDS=N            seconds per fuzz target (default 20)
#   RINGHTTP_REQUIRE_URING=1  an io_uring test variant that cannot run on io_uring fails
#                             instead of reporting itself skipped (CI sets it)
set -euo pipefail
cd "$(dirname "$0")"

# One target dir for everything below (the fuzz crate is its own workspace), so nothing
# already built is built again.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== unit, integration and doc tests (auto backend)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast --workspace
  cargo test --doc --workspace
  epoll_pass() {
    # Same package set as above (so the same build); only the socket-level tests touch a
    # backend (the unit tests are backend-free and ran above). The io_uring variants are
    # filtered out: each case runs once, on epoll.
    RINGHTTP_BACKEND=epoll cargo nextest run --no-fail-fast --workspace \
      -E 'package(ringhttp-tests) and not test(/(::|_)uring$/)'
  }
else
  cargo test --no-fail-fast --workspace
  epoll_pass() {
    # The io_uring variants see RINGHTTP_BACKEND=epoll and report themselves skipped.
    RINGHTTP_BACKEND=epoll cargo test --no-fail-fast -p ringhttp-tests
  }
fi

echo "== again with RINGHTTP_BACKEND=epoll"
epoll_pass

echo "== behind nginx (mixed load, reload mid-way: zero 5xx)"
deploy/nginx/test.sh

echo "== fuzz targets, ${FUZZ_SECONDS:-20}s each"
(cd engine/fuzz && cargo test --quiet && ./run.sh "${FUZZ_SECONDS:-20}")

if [ -x bindings/node/test/run.sh ]; then
  echo "== Node.js bindings"
  bindings/node/test/run.sh
fi
