'use strict';
// `node -r ringhttp/register app.js` / `node --import ringhttp/register app.mjs`: the
// server side of `http` (createServer, Server, ServerResponse, IncomingMessage) becomes
// ringhttp's, for `require('http')` and `import ... from 'node:http'` alike. The client
// side and `https` stay Node's. RINGHTTP_REGISTER=0 turns it off.
const off = process.env.RINGHTTP_REGISTER;
if (off !== '0' && off !== 'false' && off !== 'off') {
  const http = require('http');
  const ringhttp = require('./index');
  for (const name of ['createServer', 'Server', 'ServerResponse', 'IncomingMessage']) {
    Object.defineProperty(http, name, { value: ringhttp[name], writable: true, configurable: true, enumerable: true });
  }
  // ESM named imports of node:http read the builtin's own copies: refresh them.
  require('module').syncBuiltinESMExports();
}
