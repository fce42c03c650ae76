#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, then `npm install <tarball>` into an empty
# project outside the repository, which builds the addon from the sources the tarball
# carries (native/). From there: require() and import serve a request, `-r` and
# `--import ringhttp/register` make node:http serve from ringhttp, the installed types pass
# `tsc --strict`, and an install without cargo fails with one line saying what to install.
#   RINGHTTP_PACK_PROFILE  cargo profile of the install build (default debug: this proves
#                          the tarball builds, the release profile only optimises more)
#   RINGHTTP_PACK_TARGET   target dir reused across runs (default <repo>/target/pack):
#                          crates.io deps compile once; the engine and addon always
#                          recompile, from the installed copy.
set -euo pipefail
pkg="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$pkg/../.." && pwd)"
target="${RINGHTTP_PACK_TARGET:-$repo/target/pack}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ringhttp-pack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
case "$tmp/" in "$repo"/*) echo "pack: $tmp is inside the repository" >&2; exit 1 ;; esac
fail() { echo "pack: FAIL: $*" >&2; exit 1; }

(cd "$pkg" && npm pack --silent --pack-destination "$tmp" >"$tmp/pack.log" 2>&1) || { cat "$tmp/pack.log"; fail "npm pack"; }
tgz="$(echo "$tmp"/ringhttp-*.tgz)"
[ -f "$tgz" ] || fail "npm pack made no tarball"
echo "pack: $(basename "$tgz"), $(du -k "$tgz" | cut -f1) KiB, $(tar -tzf "$tgz" | wc -l) files"
[ ! -e "$pkg/native" ] || fail "postpack left $pkg/native behind"
tar -tzf "$tgz" | grep -x 'package/native/engine/src/lib.rs' >/dev/null || fail "the engine's sources are not in the tarball"
if tar -xzOf "$tgz" package/native/Cargo.toml package/native/engine/Cargo.toml | grep -nE 'workspace *= *true|\.\./'; then
  fail "the packaged manifests reach outside the package"
fi

app="$tmp/app"
mkdir "$app" && cd "$app"
echo '{ "name": "app", "version": "1.0.0", "private": true }' > package.json
if ! CARGO_TARGET_DIR="$target" RINGHTTP_PROFILE="${RINGHTTP_PACK_PROFILE:-debug}" \
  npm install --no-audit --no-fund --foreground-scripts "$tgz" > "$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"; fail "npm install of the tarball"
fi
# The engine compiled from the installed copy, not from the repository.
grep -q "Compiling ringhttp v[^ ]* ($app/node_modules/ringhttp/native/engine)" "$tmp/install.log" \
  || { cat "$tmp/install.log"; fail "the install did not build the engine from the tarball's sources"; }
[ -f node_modules/ringhttp/ringhttp.node ] || fail "no ringhttp.node after install"
echo "pack: npm install built the addon from node_modules/ringhttp/native"

# One request over a real socket; prints the body, then ringhttp's backend.
cat > serve.cjs <<'JS'
const { createServer } = require('ringhttp');
const server = createServer((req, res) => res.end(`cjs ${req.url}`));
server.listen(0, '127.0.0.1', async () => {
  const body = await (await fetch(`http://127.0.0.1:${server.address().port}/x`)).text();
  console.log(body, server.backend);
  server.close();
});
JS
cat > serve.mjs <<'JS'
import ringhttp, { createServer, Server } from 'ringhttp';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('ringhttp');
const esm = await import('ringhttp');
const missing = Object.keys(cjs).filter((k) => !(k in esm));
if (missing.length || ringhttp !== cjs || Server !== cjs.Server) throw new Error(`ESM entry differs from CJS: ${missing}`);
const server = createServer((req, res) => res.end(`esm ${req.url}`));
server.listen(0, '127.0.0.1', async () => {
  const body = await (await fetch(`http://127.0.0.1:${server.address().port}/y`)).text();
  console.log(body, server.backend);
  server.close();
});
JS
cat > app.mjs <<'JS'
// An unmodified node:http app: named imports from the builtin.
import { createServer } from 'node:http';
const server = createServer((req, res) => res.end(`node:http ${req.url}`));
server.listen(0, '127.0.0.1', async () => {
  const body = await (await fetch(`http://127.0.0.1:${server.address().port}/z`)).text();
  console.log(body, server.backend);
  server.close();
});
JS
expect() { # expect NAME PATTERN CMD...
  local name="$1" want="$2"; shift 2
  local got; got="$("$@" 2>"$tmp/err")" || { cat "$tmp/err"; fail "$name exited non-zero"; }
  [[ "$got" =~ $want ]] || { cat "$tmp/err"; fail "$name printed '$got', wanted /$want/"; }
  echo "pack: $name -> $got"
}
expect "require('ringhttp')" '^cjs /x (io_uring|epoll)$' node serve.cjs
expect "import from 'ringhttp'" '^esm /y (io_uring|epoll)$' node serve.mjs
expect "node -r ringhttp/register" '^node:http /z (io_uring|epoll)$' node -r ringhttp/register app.mjs
expect "node --import ringhttp/register" '^node:http /z (io_uring|epoll)$' node --import ringhttp/register app.mjs
expect "RINGHTTP_REGISTER=0" '^node:http /z undefined$' env RINGHTTP_REGISTER=0 node --import ringhttp/register app.mjs

# The installed types, strict, with the repository's typescript and @types/node.
if [ -x "$pkg/node_modules/.bin/tsc" ]; then
  cp "$pkg"/test/types/*.mts "$pkg"/test/types/*.cts .
  sed 's#"types": \["node"\]#"types": ["node"], "typeRoots": ["'"$pkg"'/node_modules/@types"]#' \
    "$pkg/test/types/tsconfig.json" > tsconfig.json
  "$pkg/node_modules/.bin/tsc" -p . || fail "tsc --strict against the installed package"
  echo "pack: tsc --strict against node_modules/ringhttp: ok"
else
  fail "no typescript in $pkg/node_modules (npm install there)"
fi

# Without cargo, `npm install` fails with one line saying what to install.
nocargo=""
IFS=: read -ra dirs <<< "$PATH"
for d in "${dirs[@]}"; do [ -x "$d/cargo" ] || nocargo="$nocargo${nocargo:+:}$d"; done
mkdir "$tmp/app2" && cd "$tmp/app2" && cp "$app/package.json" .
if PATH="$nocargo" npm install --no-audit --no-fund "$tgz" > "$tmp/nocargo.log" 2>&1; then
  fail "npm install without cargo succeeded"
fi
line="$(grep 'ringhttp:' "$tmp/nocargo.log" || true)"
[ "$(printf '%s\n' "$line" | wc -l)" = 1 ] && [[ "$line" == *"install Rust"* ]] \
  || { cat "$tmp/nocargo.log"; fail "without cargo, wanted one line saying to install Rust"; }
echo "pack: npm install without cargo -> $line"

# The same tarball with a prebuilt binary for this machine (the one just built) installs
# without cargo, and the loader takes it from prebuilds/.
tag="$(node -p "require('$app/node_modules/ringhttp/lib/locate').platformTag()")"
mkdir -p "$tmp/pre" && tar -xzf "$tgz" -C "$tmp/pre"
mkdir -p "$tmp/pre/package/prebuilds/$tag"
cp "$app/node_modules/ringhttp/ringhttp.node" "$tmp/pre/package/prebuilds/$tag/"
tar -czf "$tmp/prebuilt.tgz" -C "$tmp/pre" package
rm -rf node_modules package-lock.json
PATH="$nocargo" npm install --no-audit --no-fund "$tmp/prebuilt.tgz" > "$tmp/prebuilt.log" 2>&1 \
  || { cat "$tmp/prebuilt.log"; fail "npm install with a prebuilt binary and no cargo"; }
[ ! -e node_modules/ringhttp/ringhttp.node ] || fail "built from source although a prebuilt binary was there"
cp "$app/serve.cjs" .
expect "prebuilds/$tag/ringhttp.node, no cargo" '^cjs /x (io_uring|epoll)$' node serve.cjs
cd "$app"

# The engine and addon of this run (a new path each time) leave the shared target dir.
CARGO_TARGET_DIR="$target" cargo clean --quiet --manifest-path node_modules/ringhttp/native/Cargo.toml \
  -p ringhttp -p ringhttp-node "--profile=$( [ "${RINGHTTP_PACK_PROFILE:-debug}" = debug ] && echo dev || echo "${RINGHTTP_PACK_PROFILE}")" || true
