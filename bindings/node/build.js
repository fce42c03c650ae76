#!/usr/bin/env node
// Builds the native addon with plain cargo and copies it next to package.json as
// ringhttp.node (lib/locate.js says where the loader looks). Nothing is downloaded but crates.
// - In the repository (Cargo.toml here is a workspace member): `cargo build -p
//   ringhttp-node` in the workspace.
// - In an installed package: `cargo build --locked` in native/, the standalone workspace
//   `npm pack` staged (scripts/stage-native.js), unless a prebuilt binary for this
//   machine is present. The package-local native/target is removed afterwards.
// Env: CARGO (default "cargo"), CARGO_TARGET_DIR (honoured by cargo), RINGHTTP_PROFILE
// (default "release"), RINGHTTP_BUILD_FROM_SOURCE=1 (build even if a prebuilt exists).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { platformTag, prebuilt } = require('./lib/locate');

const here = __dirname;
const cargo = process.env.CARGO || 'cargo';
const profile = process.env.RINGHTTP_PROFILE || 'release';
const inRepo = fs.existsSync(path.join(here, 'Cargo.toml'));
const native = path.join(here, 'native');

function fail(line) {
  console.error(`ringhttp: ${line}`);
  process.exit(1);
}

if (!inRepo && prebuilt() && process.env.RINGHTTP_BUILD_FROM_SOURCE !== '1') {
  console.log(`ringhttp: using the prebuilt binary for ${platformTag()}`);
  process.exit(0);
}
const probe = spawnSync(cargo, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  fail(
    `no prebuilt binary for ${platformTag()} and \`${cargo}\` is not available: install Rust ` +
      '(cargo >= 1.85, https://rustup.rs) and run npm install again',
  );
}
if (!inRepo && !fs.existsSync(path.join(native, 'Cargo.toml'))) {
  fail(`${native}/Cargo.toml is missing: this package was not made by \`npm pack\``);
}

const args = ['build', '--message-format=json-render-diagnostics'];
if (inRepo) args.push('-p', 'ringhttp-node');
else args.push('--locked', '--manifest-path', path.join(native, 'Cargo.toml'));
if (profile === 'release') args.push('--release');
else if (profile !== 'debug' && profile !== 'dev') args.push('--profile', profile);
const run = spawnSync(cargo, args, {
  cwd: inRepo ? here : native,
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 256 << 20,
});
if (run.error) fail(`${cargo} ${args.join(' ')}: ${run.error.message}`);
if (run.status !== 0) fail(`${cargo} ${args.join(' ')} failed (exit ${run.status}); its errors are above`);

// The cdylib's path as cargo reports it (whatever the target dir or profile).
let lib = null;
for (const line of run.stdout.split('\n')) {
  if (!line.startsWith('{')) continue;
  const msg = JSON.parse(line);
  if (msg.reason === 'compiler-artifact' && msg.target.name === 'ringhttp_node' && msg.target.kind.includes('cdylib')) {
    lib = msg.filenames.find((f) => f.endsWith('.so')) || msg.filenames[0];
  }
}
if (!lib) fail(`${cargo} built no ringhttp_node cdylib`);
const out = path.join(here, 'ringhttp.node');
fs.copyFileSync(lib, out + '.tmp');
fs.renameSync(out + '.tmp', out);
if (!inRepo && !process.env.CARGO_TARGET_DIR) fs.rmSync(path.join(native, 'target'), { recursive: true, force: true });
console.log(`ringhttp: built ${out}`);
