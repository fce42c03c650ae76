#!/usr/bin/env node
// Builds the addon with plain cargo and copies it next to index.js as ringhttp.node.
// No prebuilt binaries are downloaded. Env: CARGO (default "cargo"), CARGO_TARGET_DIR,
// RINGHTTP_PROFILE (default "release").
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const here = __dirname;
const root = path.resolve(here, '..', '..');
const profile = process.env.RINGHTTP_PROFILE || 'release';
const args = ['build', '-p', 'ringhttp-node'];
if (profile === 'release') args.push('--release');
else if (profile !== 'debug') args.push('--profile', profile);
execFileSync(process.env.CARGO || 'cargo', args, { cwd: root, stdio: 'inherit' });
const target = process.env.CARGO_TARGET_DIR
  ? path.resolve(root, process.env.CARGO_TARGET_DIR)
  : path.join(root, 'target');
const lib = path.join(target, profile === 'debug' ? 'debug' : profile, 'libringhttp_node.so');
const out = path.join(here, 'ringhttp.node');
fs.copyFileSync(lib, out + '.tmp');
fs.renameSync(out + '.tmp', out);
console.log(`ringhttp: built ${path.relative(process.cwd(), out)}`);
