'use strict';
// `node -r ringhttp/register app.js` (or `node --import ringhttp/register app.mjs`): the
// app's `http.createServer`, `http.Server`, `http.ServerResponse` and `http.IncomingMessage`
// become ringhttp's, so an unmodified Express/Fastify/Koa app serves through the engine.
// The client side (`http.request`, `http.Agent`, ...) and `https` stay Node's.
// RINGHTTP_REGISTER=0 turns it off. One line on stderr, at the first listen(), says it is
// active and which backend runs.

const off = process.env.RINGHTTP_REGISTER;
if (off !== '0' && off !== 'false' && off !== 'off') {
  const http = require('http');
  const ringhttp = require('./index');
  const { Server } = require('./lib/server');

  let announced = false;
  Server.prototype._announce = function _announce() {
    if (announced) return;
    announced = true;
    process.stderr.write(`ringhttp: node:http servers run on ringhttp (backend ${this.backend}); RINGHTTP_REGISTER=0 turns this off\n`);
  };

  for (const name of ['createServer', 'Server', 'ServerResponse', 'IncomingMessage']) {
    Object.defineProperty(http, name, {
      value: ringhttp[name], writable: true, configurable: true, enumerable: true,
    });
  }
  // Some packages call Node's own methods on a response, e.g. `cookies` does
  // `http.OutgoingMessage.prototype.setHeader.call(res, ...)`: on a ringhttp response those
  // run ringhttp's method (client requests keep Node's).
  const OutgoingMessage = http.OutgoingMessage.prototype;
  const ours = ringhttp.ServerResponse.prototype;
  for (const name of Object.getOwnPropertyNames(OutgoingMessage)) {
    const d = Object.getOwnPropertyDescriptor(OutgoingMessage, name);
    if (name === 'constructor' || typeof d.value !== 'function' || typeof ours[name] !== 'function') continue;
    const node = d.value;
    const ring = ours[name];
    Object.defineProperty(OutgoingMessage, name, {
      ...d,
      value: {
        [name](...args) {
          return (this instanceof ringhttp.ServerResponse ? ring : node).apply(this, args);
        },
      }[name],
    });
  }
  // `import { createServer } from 'node:http'` reads the ESM facade's own copies.
  require('module').syncBuiltinESMExports();
}
