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

  const set = (name, value) => Object.defineProperty(http, name, {
    value, writable: true, configurable: true, enumerable: true,
  });
  set('createServer', ringhttp.createServer);
  set('Server', ringhttp.Server);
  const HybridResponse = hybrid(ringhttp.ServerResponse, http.ServerResponse, isOurResponse, Server);
  set('ServerResponse', HybridResponse);
  require('./lib/response').setDispatchers(HybridResponse.prototype.writeHead, HybridResponse.prototype._implicitHeader);
  // (http2's allowHTTP1 fallback builds requests from `http.IncomingMessage` with Node's
  // signature: the same two-way class.)
  set('IncomingMessage', hybrid(ringhttp.IncomingMessage, http.IncomingMessage, isOurRequest, Server));
  dispatchOutgoing(http.OutgoingMessage, ringhttp.ServerResponse);
  // `import { createServer } from 'node:http'` reads the ESM facade's own copies.
  require('module').syncBuiltinESMExports();
}

// A ringhttp response has its own `_frozen` (set by its constructor), a request its own
// `_flags`; Node's never have them.
function isOurResponse(res) {
  return res !== null && typeof res === 'object' && typeof res._frozen === 'boolean';
}
function isOurRequest(req) {
  return req !== null && typeof req === 'object' && typeof req._flags === 'number';
}

function findDescriptor(obj, name) {
  for (let o = obj; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (d !== undefined) return d;
  }
  return undefined;
}

function ownValue(obj, name, value) {
  Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: true });
}

// What `http.ServerResponse` (and `http.IncomingMessage`) become. Both kinds of object
// must work through them:
// - ringhttp's, with the prototype swapped for one built on `http.ServerResponse.prototype`
//   (Express: `Object.create(http.ServerResponse.prototype)`);
// - Node's own, built by code that subclasses the class to fake a response without a
//   socket (light-my-request, Fastify's inject(): `http.ServerResponse.call(this, req)`,
//   `http.ServerResponse.prototype.writeHead.apply(this, ...)`), or by http2's HTTP/1
//   fallback.
// So the constructor takes either signature, and every member of ringhttp's prototype is a
// dispatcher to ringhttp's or Node's by what `this` is. The engine itself builds its
// objects from ringhttp's classes directly: no dispatch on the plain path, only where an
// app reaches them through these.
function hybrid(Ours, Node, isOurs, RingServer) {
  // A plain function (constructible, callable as `Class.call(this, ...)` by ES5 subclasses).
  const Class = function (...args) {
    if (args[0] instanceof RingServer) return Ours.apply(this, args);
    return Node.apply(this, args);
  };
  Object.defineProperty(Class, 'name', { value: Node.name });
  Object.setPrototypeOf(Class, Node);
  const proto = Object.create(Node.prototype, {
    constructor: { value: Class, writable: true, configurable: true },
  });
  Class.prototype = proto;
  Object.defineProperty(Class, Symbol.hasInstance, {
    value: (x) => x instanceof Ours || Function.prototype[Symbol.hasInstance].call(Class, x),
  });
  for (const name of Reflect.ownKeys(Ours.prototype)) {
    if (name === 'constructor') continue;
    const ring = Object.getOwnPropertyDescriptor(Ours.prototype, name);
    const node = findDescriptor(Node.prototype, name);
    if (typeof ring.value === 'function') {
      const nf = node !== undefined && typeof node.value === 'function' ? node.value : undefined;
      ownMethod(proto, name, ring.value, nf, isOurs);
    } else {
      // Accessors and the defaults ringhttp keeps on its prototype (`_socket: null`, ...).
      const rget = ring.get || (() => ring.value);
      const rset = ring.set;
      Object.defineProperty(proto, name, {
        get() {
          if (isOurs(this)) return rget.call(this);
          if (node === undefined) return undefined;
          return node.get ? node.get.call(this) : node.value;
        },
        set(v) {
          if (isOurs(this) ? rset !== undefined : node !== undefined && node.set !== undefined) {
            (isOurs(this) ? rset : node.set).call(this, v);
          } else {
            ownValue(this, name, v);
          }
        },
        configurable: true,
      });
    }
  }
  return Class;
}

// Node's OutgoingMessage methods run ringhttp's on a ringhttp response (`cookies` calls
// `http.OutgoingMessage.prototype.setHeader.call(res, ...)`); client requests keep Node's.
function dispatchOutgoing(OutgoingMessage, Ours) {
  const OM = OutgoingMessage.prototype;
  for (const name of Object.getOwnPropertyNames(OM)) {
    const d = Object.getOwnPropertyDescriptor(OM, name);
    if (name === 'constructor' || typeof d.value !== 'function' || typeof Ours.prototype[name] !== 'function') continue;
    ownMethod(OM, name, Ours.prototype[name], d.value, isOurResponse);
  }
}

function ownMethod(target, name, ring, node, isOurs) {
  Object.defineProperty(target, name, {
    value: {
      [name](...args) {
        if (isOurs(this)) return ring.apply(this, args);
        if (node === undefined) throw new TypeError(`${String(name)} is not a function`);
        return node.apply(this, args);
      },
    }[name],
    writable: true,
    configurable: true,
  });
}
