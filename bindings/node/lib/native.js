'use strict';
// The compiled addon (built by `node build.js` / `npm run build`).
const path = require('path');
let native;
try {
  native = require(path.join(__dirname, '..', 'ringhttp.node'));
} catch (e) {
  e.message = `ringhttp: the native addon is not built (run \`node ${path.join(__dirname, '..', 'build.js')}\`): ${e.message}`;
  throw e;
}
module.exports = native;
