#!/usr/bin/env bash
# Fuzz each target for SECONDS (default 60): real cargo-fuzz (libFuzzer) when a nightly
# toolchain and cargo-fuzz are available, else the stable bounded random loop.
set -euo pipefail
secs="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
targets=(request_head chunked)
if rustup toolchain list 2>/dev/null | grep -q '^nightly' && cargo fuzz --help >/dev/null 2>&1; then
  cd "$here/.."
  for t in "${targets[@]}"; do
    # New inputs go to a scratch dir; the committed seeds stay read-only.
    scratch="$here/corpus-run/$t"
    mkdir -p "$scratch"
    cargo +nightly fuzz run "$t" "$scratch" "$here/corpus/$t" -- -max_total_time="$secs" -max_len=4096
  done
else
  echo "no nightly/cargo-fuzz: running the stable bounded loop" >&2
  cd "$here"
  cargo run --release --example stable_fuzz -- "$secs" "${targets[@]}"
fi
