'use strict';
// The event kinds and flags shared with the addon, defined once in Rust (src/codes.rs) and
// read from it here: a name the addon does not define fails at load, never silently.
const codes = require('./native').codes();

function code(name) {
  if (!Object.prototype.hasOwnProperty.call(codes, name)) {
    throw new Error(`ringhttp: the addon defines no code ${name} (rebuild it: node build.js)`);
  }
  return codes[name];
}

module.exports = { code };
