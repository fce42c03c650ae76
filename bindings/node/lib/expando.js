'use strict';
// Shared shapes for requests and responses whose prototype a framework swaps.
//
// Express does `Object.setPrototypeOf(req, app.request)` (and `res`) for every request,
// then adds properties: req.next, req.baseUrl, req.originalUrl, req.params, req.route,
// a router Symbol, res.locals. V8 keeps no transitions from a map made by a prototype
// change: each of those additions makes a map of its own, so every request ends with
// shapes no other request has and every property access on it misses its inline cache
// (two thirds of Express's CPU time, on Node's own http as well).
//
// So the plain data properties such an app adds to every request are learned from the
// first few requests whose prototype was swapped, and the constructor creates them
// (undefined) from then on: the app's stores write existing fields and the shapes stay
// shared. Only keys added to every sampled object are kept, never one found on the
// object's prototype chain (an accessor or default would be shadowed), and never an
// accessor or a non-writable, non-enumerable or non-configurable property.

const SAMPLES = 8;
const MAX_KEYS = 32;
// Objects seen with their own prototype before learning stops (an app that swaps does so
// from its first request on).
const PLAIN_LIMIT = 4096;
// RINGHTTP_SHARED_SHAPES=0 turns the learning off: requests and responses then gain the
// app's properties one by one, exactly as on Node (and as slowly).
const ENABLED = process.env.RINGHTTP_SHARED_SHAPES !== '0';

class Expando {
  constructor(proto) {
    this.proto = proto;
    this.fields = null; // the constructor's own keys
    this.keys = null; // the intersection of the samples' added keys, in order
    this.samples = 0;
    this.plain = 0;
    this.learning = ENABLED;
    // What the constructor calls last: stores undefined for every learned key.
    this.init = null;
  }

  // The constructor's own keys, from its first object.
  noteFields(obj) {
    this.fields = new Set(Reflect.ownKeys(obj));
  }

  // An object of this class is done (its response ended): sample its added keys if its
  // prototype was swapped.
  learn(obj) {
    const p = Object.getPrototypeOf(obj);
    if (p === this.proto || p === null || this.fields === null) {
      if (++this.plain >= PLAIN_LIMIT && this.samples === 0) this.learning = false;
      return;
    }
    const added = [];
    for (const k of Reflect.ownKeys(obj)) {
      if (this.fields.has(k) || k in p) continue;
      const d = Object.getOwnPropertyDescriptor(obj, k);
      if (d === undefined || d.get !== undefined || d.set !== undefined ||
          !d.writable || !d.enumerable || !d.configurable) {
        continue;
      }
      added.push(k);
    }
    this.keys = this.keys === null ? added : this.keys.filter((k) => added.includes(k));
    if (++this.samples < SAMPLES) return;
    this.learning = false;
    const keys = this.keys.slice(0, MAX_KEYS);
    if (keys.length > 0) this.init = compile(keys);
  }
}

// `(o) => { o[K[0]] = undefined; ... }` as straight-line code: each store site sees one key.
function compile(keys) {
  let body = '';
  for (let i = 0; i < keys.length; i++) body += `o[K[${i}]] = undefined;\n`;
  // eslint-disable-next-line no-new-func
  return new Function('K', `return function expandoInit(o) {\n${body}};`)(keys);
}

module.exports = { Expando };
