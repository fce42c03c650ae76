#!/usr/bin/env node
// `npm pack` / `npm publish` (prepack): stages the Rust sources the addon needs into
// native/, a Cargo workspace of its own that builds without the repository around it:
//   native/Cargo.toml   ringhttp-node, standalone ([workspace] root, no inherited fields)
//   native/Cargo.lock   the repository's lock, pruned to what the addon uses
//   native/src, build.rs               the addon's sources
//   native/<dir>/Cargo.toml, src/      every path dependency (the engine: native/engine)
// The manifests are written from `cargo metadata` (inheritance already resolved), so
// they follow the workspace's Cargo.toml files without a TOML parser. `--clean`
// (postpack) removes native/ again.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const here = path.resolve(__dirname, '..');
const out = path.join(here, 'native');
const cargo = process.env.CARGO || 'cargo';
const ADDON = 'ringhttp-node';

fs.rmSync(out, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

const meta = JSON.parse(
  execFileSync(cargo, ['metadata', '--format-version', '1', '--no-deps', '--offline'], {
    cwd: here,
    maxBuffer: 64 << 20,
  }),
);
const byManifest = new Map(meta.packages.map((p) => [path.dirname(p.manifest_path), p]));
const root = byManifest.get(here);
if (!root || root.name !== ADDON) throw new Error(`stage-native: ${here} is not the ${ADDON} package`);

// The addon at native/, each path dependency (recursively) at native/<its dir name>/.
const staged = new Map([[here, out]]);
const queue = [root];
while (queue.length) {
  for (const dep of queue.shift().dependencies) {
    if (!dep.path || dep.kind === 'dev' || staged.has(dep.path)) continue;
    const pkg = byManifest.get(dep.path);
    if (!pkg) throw new Error(`stage-native: path dependency ${dep.path} is not a workspace package`);
    staged.set(dep.path, path.join(out, path.basename(dep.path)));
    queue.push(pkg);
  }
}

const q = (s) => JSON.stringify(s); // a TOML basic string
const list = (a) => `[${a.map(q).join(', ')}]`;

function depLine(pkg, dep) {
  const key = dep.rename || dep.name;
  const f = [];
  if (dep.rename) f.push(`package = ${q(dep.name)}`);
  if (dep.path) f.push(`path = ${q(path.relative(staged.get(path.dirname(pkg.manifest_path)), staged.get(dep.path)))}`);
  if (dep.req !== '*' || !dep.path) f.push(`version = ${q(dep.req)}`);
  if (!dep.uses_default_features) f.push('default-features = false');
  if (dep.features.length) f.push(`features = ${list(dep.features)}`);
  if (dep.optional) f.push('optional = true');
  if (dep.registry || (dep.source && !dep.source.startsWith('registry+https://github.com/rust-lang/crates.io-index'))) {
    throw new Error(`stage-native: ${pkg.name} depends on ${dep.name} from ${dep.source}: only crates.io and path dependencies are staged`);
  }
  return `${q(key)} = { ${f.join(', ')} }`;
}

function manifest(pkg, dest) {
  const src = path.dirname(pkg.manifest_path);
  const rel = (p) => path.relative(src, p);
  const lines = [
    `# Written by scripts/stage-native.js from ${path.relative(path.resolve(here, '..', '..'), pkg.manifest_path)}: edit that file, not this one.`,
    '[package]',
    `name = ${q(pkg.name)}`,
    `version = ${q(pkg.version)}`,
    `edition = ${q(pkg.edition)}`,
  ];
  if (pkg.rust_version) lines.push(`rust-version = ${q(pkg.rust_version)}`);
  if (pkg.description) lines.push(`description = ${q(pkg.description)}`);
  if (pkg.license) lines.push(`license = ${q(pkg.license)}`);
  if (pkg.links) lines.push(`links = ${q(pkg.links)}`);
  lines.push('publish = false', 'autobins = false', 'autoexamples = false', 'autotests = false', 'autobenches = false');
  const files = [];
  for (const t of pkg.targets) {
    if (t.kind.includes('custom-build')) {
      lines.push(`build = ${q(rel(t.src_path))}`);
      files.push(rel(t.src_path));
    }
  }
  const lib = pkg.targets.find((t) => t.kind.some((k) => ['lib', 'rlib', 'cdylib', 'staticlib', 'dylib', 'proc-macro'].includes(k)));
  if (!lib) throw new Error(`stage-native: ${pkg.name} has no library target`);
  lines.push('', '[lib]', `name = ${q(lib.name)}`, `path = ${q(rel(lib.src_path))}`, `crate-type = ${list(lib.crate_types)}`, 'test = false', 'doctest = false');
  files.push(path.dirname(rel(lib.src_path)));
  if (Object.keys(pkg.features).length) {
    lines.push('', '[features]');
    for (const [k, v] of Object.entries(pkg.features)) lines.push(`${q(k)} = ${list(v)}`);
  }
  const sections = new Map();
  for (const dep of pkg.dependencies) {
    if (dep.kind === 'dev') continue;
    const table = `${dep.target ? `target.${q(dep.target)}.` : ''}${dep.kind === 'build' ? 'build-dependencies' : 'dependencies'}`;
    if (!sections.has(table)) sections.set(table, []);
    sections.get(table).push(depLine(pkg, dep));
  }
  for (const [table, deps] of sections) lines.push('', `[${table}]`, ...deps);
  if (dest === out) lines.push('', '[workspace]', 'resolver = "2"', ...releaseProfile());
  fs.mkdirSync(dest, { recursive: true });
  fs.writeFileSync(path.join(dest, 'Cargo.toml'), lines.join('\n') + '\n');
  for (const f of files) fs.cpSync(path.join(src, f), path.join(dest, f), { recursive: true });
}

// The workspace's [profile.release], without `debug` (the installed addon is stripped).
function releaseProfile() {
  const text = fs.readFileSync(path.join(meta.workspace_root, 'Cargo.toml'), 'utf8');
  const out = [];
  let inside = false;
  for (const line of text.split('\n')) {
    if (/^\s*\[/.test(line)) inside = /^\s*\[profile\.release\]\s*$/.test(line);
    else if (inside && line.trim() && !/^\s*(#|debug\s*=|strip\s*=)/.test(line)) out.push(line.trim());
  }
  return ['', '[profile.release]', ...out, 'debug = false', 'strip = "debuginfo"'];
}

for (const [src, dest] of staged) manifest(byManifest.get(src), dest);

// The lock: the workspace's, pruned by cargo to this workspace (`update --workspace`
// keeps every other package at its locked version).
fs.copyFileSync(path.join(meta.workspace_root, 'Cargo.lock'), path.join(out, 'Cargo.lock'));
const prune = ['update', '--workspace', '--quiet', '--manifest-path', path.join(out, 'Cargo.toml')];
try {
  execFileSync(cargo, [...prune, '--offline'], { stdio: 'ignore' });
} catch {
  execFileSync(cargo, prune, { stdio: ['ignore', 'ignore', 'inherit'] });
}
console.error(`ringhttp: staged ${[...staged.values()].map((d) => path.relative(here, d)).join(', ')} for the package`);
