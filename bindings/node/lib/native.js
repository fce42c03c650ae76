'use strict';
// The compiled addon: the first of lib/locate.js's candidates that exists.
const fs = require('fs');
const path = require('path');
const { root, candidates } = require('./locate');

function load() {
  const tried = candidates();
  const file = tried.find((f) => fs.existsSync(f));
  if (!file) {
    throw new Error(
      `ringhttp: the native addon is not built (looked for ${tried.join(', ')}); ` +
        `build it with \`node ${path.join(root, 'build.js')}\` (needs Rust's cargo: https://rustup.rs)`,
    );
  }
  try {
    return require(file);
  } catch (e) {
    e.message = `ringhttp: cannot load the native addon ${file}: ${e.message}`;
    throw e;
  }
}

module.exports = load();
