'use strict';
// The event kinds and flags the JS and the addon exchange are defined once, in Rust
// (src/codes.rs), and read by lib/codes.js: every name lib/*.js asks for exists, event
// kinds are distinct, flags are distinct single bits.
const test = require('node:test');
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { IMPL } = require('./helpers');

test('lib/*.js reads its event kinds and flags from the addon', (t) => {
  if (IMPL === 'node') return t.skip('the addon is not under test');
  const codes = require('../lib/native').codes();
  const lib = path.join(__dirname, '..', 'lib');
  const used = new Set();
  for (const f of fs.readdirSync(lib)) {
    const src = fs.readFileSync(path.join(lib, f), 'utf8');
    assert.doesNotMatch(src, /^const (EV|F|WF)_[A-Z0-9_]+ = \d+;/m, `${f} defines a code itself`);
    for (const m of src.matchAll(/code\('([A-Z0-9_]+)'\)/g)) used.add(m[1]);
  }
  assert.ok(used.size > 20, `only ${used.size} codes used`);
  for (const name of used) assert.ok(Object.hasOwn(codes, name), `addon lacks ${name}`);
  const group = (p) => Object.entries(codes).filter(([k]) => k.startsWith(p)).map(([, v]) => v);
  const ev = group('EV_');
  assert.strictEqual(new Set(ev).size, ev.length, 'event kinds are distinct');
  for (const p of ['RF_', 'WF_']) {
    const bits = group(p);
    for (const b of bits) assert.ok(b > 0 && (b & (b - 1)) === 0, `${p} ${b} is one bit`);
    assert.strictEqual(new Set(bits).size, bits.length, `${p} flags are distinct`);
  }
});
