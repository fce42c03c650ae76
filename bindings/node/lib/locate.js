'use strict';
// Where the compiled addon may be, in the order lib/native.js tries them. Every path is
// relative to this package's own directory, so it holds wherever npm puts the package
// (hoisted, nested, a workspace link, a global install).
//   1. RINGHTTP_NATIVE: an explicit path to a ringhttp.node.
//   2. prebuilds/<platform>-<arch>[-musl]/ringhttp.node: a prebuilt binary (none is
//      shipped yet; build.js skips the cargo build when the one for this machine exists).
//   3. ringhttp.node next to package.json: what build.js compiles at install.
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');

function isMusl() {
  // As detect-libc: ldd names its libc; else the runtime's report does (slower).
  try {
    return fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl');
  } catch {
    const header = process.report && process.report.getReport().header;
    return !!header && !header.glibcVersionRuntime;
  }
}

function platformTag() {
  const tag = `${process.platform}-${process.arch}`;
  return process.platform === 'linux' && isMusl() ? `${tag}-musl` : tag;
}

function prebuilt() {
  const dir = path.join(root, 'prebuilds');
  if (!fs.existsSync(dir)) return null;
  const file = path.join(dir, platformTag(), 'ringhttp.node');
  return fs.existsSync(file) ? file : null;
}

function candidates() {
  const list = [];
  if (process.env.RINGHTTP_NATIVE) list.push(path.resolve(process.env.RINGHTTP_NATIVE));
  const pre = prebuilt();
  if (pre) list.push(pre);
  list.push(path.join(root, 'ringhttp.node'));
  return list;
}

module.exports = { root, platformTag, prebuilt, candidates };
