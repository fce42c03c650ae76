'use strict';
// http.ServerResponse on a ringhttp response. Headers live in JS until the first write or
// end, which hands status, headers and body to the engine in one native call. 'finish',
// 'close' and 'drain' are wired to the engine only when someone listens or streams.
const { Writable } = require('stream');
const EE = require('events');
const { STATUS_CODES } = require('http');
const native = require('./native');
const { F_BODY, shape: reqShape } = require('./incoming');
const { Expando } = require('./expando');
const { Socket } = require('./socket');
const { code } = require('./codes');

const WF_NO_DATE = code('WF_NO_DATE');
const RM_BITS = {
  date: code('WF_RM_DATE'),
  connection: code('WF_RM_CONNECTION'),
  'keep-alive': code('WF_RM_KEEPALIVE'),
  'content-length': code('WF_RM_CL'),
  'transfer-encoding': code('WF_RM_TE'),
};
const WF_RELEASE = code('WF_RELEASE');
const WF_SNAPSHOT = code('WF_SNAPSHOT');
const WF_MESSAGE = code('WF_MESSAGE');
const WF_DETACH = code('WF_DETACH');
const WF_CHUNKS = code('WF_CHUNKS');
// Pending write() bytes past which the writes go to the engine at once (Node's
// writableHighWaterMark: what a writer may queue before write() can say false).
const PENDING_MAX = 16384;

const tokenRe = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const invalidCharRe = /[^\t\x20-\x7e\x80-\xff]/;

function nodeError(Ctor, code, msg) {
  const e = new Ctor(msg);
  e.code = code;
  return e;
}

function validateHeaderName(name) {
  if (typeof name !== 'string' || !name || !tokenRe.test(name)) {
    throw nodeError(TypeError, 'ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
  }
}

function validateHeaderValue(name, value) {
  if (value === undefined) {
    throw nodeError(TypeError, 'ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "${value}" for header "${name}"`);
  }
  if (Array.isArray(value)) {
    for (const v of value) validateHeaderValue(name, v);
    return;
  }
  if (invalidCharRe.test(String(value))) {
    throw nodeError(TypeError, 'ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
  }
}

// The setHeader map: lower-case name -> [name, value]. Instances of a constructor whose
// prototype has no prototype: no inherited keys (as `{ __proto__: null }`), but a fast
// object whose shape V8 caches, so lookups and for-in stay cheap (a null-prototype
// literal is a hash table).
function HeaderStore() {}
HeaderStore.prototype = Object.create(null);

// Names and values already found valid: handlers use a few, again and again, so a map
// lookup replaces a regular expression and a toLowerCase(). Bounded (cleared when full).
const okNames = new Map(); // name -> lower-case name
const okValues = new Set();

// The lower-case name of a valid header name (throws as validateHeaderName otherwise).
function lowerName(name) {
  let lower = okNames.get(name);
  if (lower === undefined) {
    validateHeaderName(name);
    lower = name.toLowerCase();
    if (okNames.size >= 512) okNames.clear();
    okNames.set(name, lower);
  }
  return lower;
}

// A string value found valid, kept at its second use if short (the set is bounded): values
// that differ every time (request ids, lengths as strings) would fill the set, keep its
// strings alive through collections and clear it again and again.
const VALUE_CANDIDATES = 4;
const valueCandidates = new Array(VALUE_CANDIDATES).fill(null);
let valueNext = 0;
function noteValue(value) {
  if (value.length <= 256) {
    let i = 0;
    while (i < VALUE_CANDIDATES && valueCandidates[i] !== value) i++;
    if (i === VALUE_CANDIDATES) {
      valueCandidates[valueNext] = value;
      valueNext = (valueNext + 1) % VALUE_CANDIDATES;
      return;
    }
    valueCandidates[i] = null;
    if (okValues.size >= 1024) okValues.clear();
    okValues.add(value);
  }
}

function checkValue(name, value) {
  const t = typeof value;
  if (t === 'number') return; // its string form is digits, signs, dots, letters
  if (t === 'string') {
    if (okValues.has(value)) return;
    validateHeaderValue(name, value);
    noteValue(value);
    return;
  }
  validateHeaderValue(name, value);
}

function ServerResponse(server, handle, req) {
  this._server = server;
  this._h = handle;
  this.req = req;
  req._res = this;
  this.statusCode = 200;
  this.statusMessage = undefined;
  this.sendDate = true;
  this._hdrs = null; // lower-case name -> [name, value]
  // setHeader()s that repeat, in order, a header set the addon keeps (see cursorKV): that
  // set, and how many of its entries ([name, value, ...]) they matched. `_hdrs` stays null
  // until they diverge or someone reads the headers (unfold).
  this._ckv = null;
  this._cn = 0;
  this._whObj = null; // writeHead's headers when no setHeader came first (Node's fast path)
  this._whArr = null; // the same for an array: [name, value, name, value, ...]
  this._rm = 0;
  this._frozen = false;
  this._sent = false;
  this._ended = false;
  // Own fields, not defaults on the prototype: a framework that swaps the prototype
  // (Express: `Object.setPrototypeOf(res, app.response)`) would otherwise reach them
  // through register.js's accessors on every read and write.
  this._finished = false;
  this._closed = false;
  this._destroyed = false;
  this._hooked = false;
  this._needDrain = false;
  this._socket = null;
  this._sockWait = false;
  this._tmo = false;
  this._trailersAdded = false;
  // write()'s chunks not yet handed to the engine (see flushWrites), their length, and
  // the status of a head that goes with them (-1: the head is already out).
  this._pw = null;
  this._pwLen = 0;
  this._pwStatus = -1;
  // The fields a prototype-swapping framework adds to every response (see expando.js).
  if (shape.init !== null) shape.init(this);
  else if (shape.fields === null) shape.noteFields(this);
}
Object.setPrototypeOf(ServerResponse.prototype, Writable.prototype);
Object.setPrototypeOf(ServerResponse, Writable);

const proto = ServerResponse.prototype;
const shape = new Expando(proto);

function accessor(name, get, set) {
  Object.defineProperty(proto, name, {
    get,
    set: set || function (v) {
      Object.defineProperty(this, name, { value: v, writable: true, configurable: true, enumerable: true });
    },
    configurable: true,
  });
}

accessor('headersSent', function () { return this._frozen; });
accessor('_headerSent', function () { return this._sent; });
// Node's head text once writeHead() has run (read by middleware as "headers are out"); ours
// is built by the engine, so this is its equivalent without Date/Connection.
accessor('_header', function () {
  if (!this._frozen) return null;
  let s = `HTTP/1.1 ${this.statusCode} ${this.statusMessage || STATUS_CODES[this.statusCode] || 'unknown'}\r\n`;
  // (buildHeadStr, not headStr: that one counts header sets for the slot cache.)
  const h = buildHeadStr(this);
  if (h !== '') {
    const parts = h.split('\0');
    for (let i = 0; i < parts.length; i += 2) s += `${parts[i]}: ${parts[i + 1]}\r\n`;
  }
  return s + '\r\n';
});
accessor('_headers', function () { return this.getHeaders(); });
accessor('strictContentLength', function () { return false; });
accessor('finished', function () { return this._ended; });
accessor('writableEnded', function () { return this._ended; });
accessor('writableFinished', function () { return this._finished; });
// Node's response is `writable` for its whole life (stream.finished() then tells a
// premature 'close' from a finished response by 'finish', not by `writable`).
accessor('writable', function () { return true; });
accessor('writableLength', function () { return 0; });
accessor('writableHighWaterMark', function () { return 16384; });
accessor('writableCorked', function () { return 0; });
accessor('writableObjectMode', function () { return false; });
accessor('writableNeedDrain', function () { return this._needDrain; });
accessor('destroyed', function () { return this._destroyed; }, function (v) { this._destroyed = !!v; });
accessor('closed', function () { return this._closed; });
accessor('errored', function () { return null; });
// As Node, a pipelined response gets the socket (and a 'socket' event) once the ones
// before it on the connection are done with it: until then `res.socket` is null.
// (Libraries such as on-finished then listen for 'socket' instead of adding listeners to
// a socket shared by every response in flight.)
accessor('socket', function () {
  if (this._socket === null && !this._closed && !this._sockWait) {
    const s = this.req.socket;
    const cur = s._cur;
    if (cur === null || cur === this || doneWithSocket(cur)) {
      s._cur = this;
      this._socket = s;
    } else {
      this._sockWait = true;
      (s._waiting || (s._waiting = [])).push(this);
    }
  }
  return this._socket;
}, function (v) { this._socket = v; });
accessor('connection', function () { return this.socket; });
accessor('chunkedEncoding', function () { return false; });
accessor('shouldKeepAlive', function () { return (this.req._flags & 4) !== 0; });

proto.setHeader = function setHeader(name, value) {
  if (this._frozen) {
    throw nodeError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot set headers after they are sent to the client');
  }
  if (this._hdrs === null) {
    // The next name and value of a kept set (checked when it was kept): only noted.
    const n = this._cn;
    const kv = n === 0 ? cursorKV(this, name, value) : this._ckv;
    if (kv !== null && kv[n] === name && kv[n + 1] === value) {
      this._ckv = kv;
      this._cn = n + 2;
      return this;
    }
    if (n !== 0) unfold(this);
  }
  const key = lowerName(name);
  checkValue(name, value);
  if (this._hdrs === null) this._hdrs = new HeaderStore();
  this._hdrs[key] = [name, value];
  return this;
};

proto.appendHeader = function appendHeader(name, value) {
  if (this._frozen) {
    throw nodeError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot append headers after they are sent to the client');
  }
  const key = lowerName(name);
  checkValue(name, value);
  if (this._cn !== 0) unfold(this);
  if (this._hdrs === null) this._hdrs = new HeaderStore();
  const cur = this._hdrs[key];
  if (cur === undefined) {
    this._hdrs[key] = [name, value];
  } else {
    const a = Array.isArray(cur[1]) ? cur[1] : [cur[1]];
    cur[1] = a.concat(value);
  }
  return this;
};

proto.getHeader = function getHeader(name) {
  if (typeof name !== 'string') {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "name" argument must be of type string');
  }
  const h = headers(this);
  if (h === null) return undefined;
  const e = h[okNames.get(name) ?? name.toLowerCase()];
  return e === undefined ? undefined : e[1];
};

proto.hasHeader = function hasHeader(name) {
  if (typeof name !== 'string') {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "name" argument must be of type string');
  }
  const h = headers(this);
  return h !== null && h[okNames.get(name) ?? name.toLowerCase()] !== undefined;
};

proto.getHeaderNames = function getHeaderNames() {
  const h = headers(this);
  return h === null ? [] : Object.keys(h);
};

proto.getRawHeaderNames = function getRawHeaderNames() {
  const h = headers(this);
  if (h === null) return [];
  return Object.keys(h).map((k) => h[k][0]);
};

proto.getHeaders = function getHeaders() {
  const out = { __proto__: null };
  const h = headers(this);
  if (h !== null) for (const k in h) out[k] = h[k][1];
  return out;
};

proto.removeHeader = function removeHeader(name) {
  if (typeof name !== 'string') {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "name" argument must be of type string');
  }
  if (this._frozen) {
    throw nodeError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot remove headers after they are sent to the client');
  }
  const key = name.toLowerCase();
  const bit = RM_BITS[key];
  if (bit !== undefined) this._rm |= bit;
  const h = headers(this);
  if (h !== null) delete h[key];
};

function checkStatus(code) {
  if (code < 100 || code > 999) {
    throw nodeError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${code}`);
  }
}

proto.writeHead = function writeHead(statusCode, reason, obj) {
  if (this._frozen) {
    throw nodeError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
  }
  const original = statusCode;
  statusCode |= 0;
  if (statusCode < 100 || statusCode > 999) {
    throw nodeError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${original}`);
  }
  if (typeof reason === 'string') {
    this.statusMessage = reason;
  } else {
    if (!this.statusMessage) this.statusMessage = STATUS_CODES[statusCode] || 'unknown';
    if (obj === undefined) obj = reason;
  }
  this.statusCode = statusCode;
  // Node fixes the framing here (chunked unless a Content-Length is set). We let a
  // following end(data) with nothing written send Content-Length instead (see README).
  if (obj) {
    if (this._cn !== 0) unfold(this);
    if (Array.isArray(obj)) {
      if (this._hdrs === null) {
        // Node's fast path for an array too: the pairs are sent as given, in order
        // (getHeader() will not see them); names and values checked now, as Node does.
        // The same names and values as a kept set (checked then): that set itself.
        this._whArr = keptArr(this, obj) || flatPairs(obj);
      } else if (obj.length && Array.isArray(obj[0])) {
        for (const [k, v] of obj) this._mergeHeader(k, v);
      } else {
        if (obj.length % 2 !== 0) {
          throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'The argument \'headers\' is invalid');
        }
        for (let i = 0; i < obj.length; i += 2) this._mergeHeader(obj[i], obj[i + 1]);
      }
    } else if (this._hdrs === null) {
      // Node's fast path: the object is used as is (getHeader() will not see it). Node
      // throws for a bad value here, and judges characters, not UTF-8 bytes (the engine
      // would take '\u{1F600}' as obs-text): string values are checked now, the rest
      // (names, non-strings) by the engine when the head is sent. The same names and
      // values as the header set sent last (kept, so checked then) need no check: that
      // set is the head (as Node's, built here: later changes to the object do not count).
      const kv = this._server._h === slotServer ? slotKV[slotLast] : null;
      if (kv !== null && matchObj(kv, obj)) {
        this._whArr = kv;
      } else {
        checkObj(obj);
        this._whObj = obj;
      }
    } else {
      for (const k in obj) if (obj[k] !== undefined) this.setHeader(k, obj[k]);
    }
  }
  this._frozen = true;
  return this;
};

// writeHead's object on Node's fast path: string values checked (see writeHead).
function checkObj(obj) {
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'string' && !okValues.has(v)) {
      if (invalidCharRe.test(v)) {
        throw nodeError(TypeError, 'ERR_INVALID_CHAR', `Invalid character in header content ["${k}"]`);
      }
      noteValue(v);
    }
  }
}
proto.writeHeader = proto.writeHead;
const writeHeadFn = proto.writeHead;

// Node's implicit header (first write()/end() without writeHead()): `this.writeHead(statusCode)`,
// the hook point of on-headers (express-session, compression, morgan, ...).
proto._implicitHeader = function _implicitHeader() {
  this.writeHead(this.statusCode);
};
const implicitHeaderFn = proto._implicitHeader;

// Before the first write()/end() sends the head: when writeHead() was not called and
// someone wrapped writeHead or _implicitHeader, go through them as Node does (the plain
// path needs no call: the head is built from setHeader()'s headers directly).
function implicitHeader(res) {
  const wh = res.writeHead;
  const ih = res._implicitHeader;
  if ((wh !== writeHeadFn && wh !== dispatchWriteHead) || (ih !== implicitHeaderFn && ih !== dispatchImplicit)) {
    res._implicitHeader();
  }
}

// register.js's `http.ServerResponse.prototype` calls ours through dispatchers: those
// stand for ours too (a prototype swapped for one built on it wraps nothing).
let dispatchWriteHead = writeHeadFn;
let dispatchImplicit = implicitHeaderFn;
function setDispatchers(writeHead, implicit) {
  dispatchWriteHead = writeHead;
  dispatchImplicit = implicit;
}

// writeHead's array ([[name, value], ...] or [name, value, ...]) as a checked flat list.
function flatPairs(obj) {
  const out = [];
  if (obj.length && Array.isArray(obj[0])) {
    for (let i = 0; i < obj.length; i++) {
      const [k, v] = obj[i];
      lowerName(k);
      checkValue(k, v);
      out.push(k, v);
    }
  } else {
    if (obj.length % 2 !== 0) {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', 'The argument \'headers\' is invalid');
    }
    for (let i = 0; i < obj.length; i += 2) {
      lowerName(obj[i]);
      checkValue(obj[i], obj[i + 1]);
      out.push(obj[i], obj[i + 1]);
    }
  }
  return out;
}

proto._mergeHeader = function _mergeHeader(k, v) {
  const key = lowerName(k);
  checkValue(k, v);
  if (this._cn !== 0) unfold(this);
  if (this._hdrs === null) this._hdrs = new HeaderStore();
  const cur = this._hdrs[key];
  if (cur === undefined) this._hdrs[key] = [k, v];
  else cur[1] = (Array.isArray(cur[1]) ? cur[1] : [cur[1]]).concat(v);
};

// The head's headers as one string for the engine: `name\0value\0name\0value...`, one
// pair per value (arrays repeat the name); `nPairs` is the pairs argument of the native
// call: how many pairs it holds, plus (slot + 1) << 16 when the addon is to keep them.
let nPairs = 0;
// Header sets the addon keeps validated and encoded, by slot (handlers send the same few
// sets again and again): [name, value, name, value, ...] per slot, compared by identity
// with a response's (strings, numbers, booleans). A hit passes the slot number instead of
// a string: no string to build, read, split, validate or encode per response.
const SLOTS = 16;
const slotKV = new Array(SLOTS).fill(null);
// Sets that came from setHeader() (one entry per lower-case name): the ones a response's
// setHeader() calls may follow (see cursorKV); `cursorSlot` is the one they followed last.
const slotUniq = new Array(SLOTS).fill(false);
let cursorSlot = 0;
let slotNext = 0;
let slotLast = 0;
// A set is kept once it has been seen twice (a set with a varying value, say a
// Content-Length, is not worth encoding for one use): the last few misses.
const seen = new Array(8).fill(null);
let seenNext = 0;
// Header sets that matched nothing kept or seen, in a row (see headStr).
let missRun = 0;
const MISS_RUN = 64;
// The set being stored by the native call in progress (committed when it returns).
let pendingKV = null;
let pendingSlot = 0;
let pendingUniq = false;
// The addon keeps the slots per server: the cache above is for this server's (the last
// one that sent a head); another server starts it afresh.
let slotServer = null;

function resetSlots(h) {
  slotServer = h;
  slotKV.fill(null);
  slotUniq.fill(false);
  seen.fill(null);
  slotNext = 0;
  slotLast = 0;
  seenNext = 0;
}

// The kept setHeader() set whose first name and value are these (setHeader's first call
// on a response), or null.
function cursorKV(res, name, value) {
  if (res._server._h !== slotServer) return null;
  let kv = slotKV[cursorSlot];
  if (kv !== null && kv[0] === name && kv[1] === value && slotUniq[cursorSlot]) return kv;
  for (let s = 0; s < SLOTS; s++) {
    kv = slotKV[s];
    if (kv !== null && kv[0] === name && kv[1] === value && slotUniq[s]) {
      cursorSlot = s;
      return kv;
    }
  }
  return null;
}

// The setHeader() map, made from the cursor's entries first if setHeader() followed a
// kept set (the same map its calls would have made: each name once, in order).
function unfold(res) {
  const kv = res._ckv;
  const n = res._cn;
  res._ckv = null;
  res._cn = 0;
  const h = new HeaderStore();
  for (let i = 0; i < n; i += 2) h[lowerName(kv[i])] = [kv[i], kv[i + 1]];
  res._hdrs = h;
}

// The setHeader() map (null if none) for readers.
function headers(res) {
  if (res._cn !== 0) unfold(res);
  return res._hdrs;
}

// writeHead's array when its names and values are those of a kept set (compared by
// identity: [[name, value], ...] or [name, value, ...]): that set, else null.
function keptArr(res, a) {
  if (res._server._h !== slotServer || a.length === 0) return null;
  let kv = slotKV[slotLast];
  if (kv !== null && matchArr(kv, a)) return kv;
  for (let s = 0; s < SLOTS; s++) {
    kv = slotKV[s];
    if (kv !== null && matchArr(kv, a)) return kv;
  }
  return null;
}

function matchArr(kv, a) {
  const n = a.length;
  if (Array.isArray(a[0])) {
    if (n * 2 !== kv.length) return false;
    for (let i = 0; i < n; i++) {
      const e = a[i];
      if (!Array.isArray(e) || e.length !== 2 || kv[2 * i] !== e[0] || kv[2 * i + 1] !== e[1]) return false;
    }
    return true;
  }
  return sameKV(kv, a);
}

function matchObj(kv, o) {
  let i = 0;
  for (const k in o) {
    const v = o[k];
    if (v === undefined) continue;
    if (kv[i] !== k || kv[i + 1] !== v) return false;
    i += 2;
  }
  return i === kv.length;
}

function matchHdrs(kv, h) {
  let i = 0;
  for (const k in h) {
    const e = h[k];
    if (kv[i] !== e[0] || kv[i + 1] !== e[1]) return false;
    i += 2;
  }
  return i === kv.length;
}

function matchSet(kv, o, h, a) {
  if (a !== null) return sameKV(kv, a);
  return h === null ? matchObj(kv, o) : matchHdrs(kv, h);
}

function plain(v) {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean';
}

// The response's set as [name, value, ...], or null if it cannot be kept (a list value).
function kvOf(o, h, a) {
  if (a !== null) {
    for (let i = 1; i < a.length; i += 2) if (!plain(a[i])) return null;
    return a;
  }
  const kv = [];
  if (h !== null) {
    for (const k in h) {
      const e = h[k];
      if (!plain(e[1])) return null;
      kv.push(e[0], e[1]);
    }
  } else {
    for (const k in o) {
      const v = o[k];
      if (v === undefined) continue;
      if (!plain(v)) return null;
      kv.push(k, v);
    }
  }
  return kv;
}

function sameKV(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// The head argument of the native call: a slot number, or the string (see nPairs).
// (Module functions, not methods: no lookup through a prototype a framework swapped in.)
function headStr(res) {
  pendingKV = null;
  if (res._server._h !== slotServer) resetSlots(res._server._h);
  if (res._cn !== 0) {
    // setHeader() followed a kept set: if all of it, that slot.
    const kv = res._ckv;
    if (res._cn === kv.length) {
      const s = slotKV[cursorSlot] === kv ? cursorSlot : slotKV.indexOf(kv);
      if (s !== -1) {
        slotLast = s;
        nPairs = 0;
        return s;
      }
    }
    unfold(res);
  }
  const o = res._whObj;
  const h = res._hdrs;
  const a = res._whArr;
  if (a !== null && a === slotKV[slotLast] && h === null && o === null) {
    // writeHead() found a kept set.
    nPairs = 0;
    return slotLast;
  }
  if ((h !== null) + (o !== null) + (a !== null) !== 1) {
    // None (no headers) or, never in practice, two: the string as is.
    return buildHeadStr(res);
  }
  let kv = slotKV[slotLast];
  if (kv !== null && matchSet(kv, o, h, a)) {
    nPairs = 0;
    missRun = 0;
    return slotLast;
  }
  for (let s = 0; s < SLOTS; s++) {
    kv = slotKV[s];
    if (kv !== null && matchSet(kv, o, h, a)) {
      slotLast = s;
      nPairs = 0;
      missRun = 0;
      return s;
    }
  }
  const str = buildHeadStr(res);
  if (nPairs === 0 || nPairs > 64) return str;
  // A handler whose sets differ every time (a request id, a varying Content-Length)
  // would pay a copy and a compare with every remembered set per response: after a run
  // of misses only one response in 16 is remembered (a repeating set is still kept).
  if (++missRun > MISS_RUN && (missRun & 15) !== 0) return str;
  kv = kvOf(o, h, a);
  if (kv === null) return str;
  for (let i = 0; i < seen.length; i++) {
    if (seen[i] !== null && sameKV(seen[i], kv)) {
      seen[i] = null;
      missRun = 0;
      pendingKV = kv;
      pendingSlot = slotNext;
      pendingUniq = h !== null;
      slotKV[slotNext] = null;
      nPairs |= (slotNext + 1) << 16;
      slotNext = (slotNext + 1) % SLOTS;
      return str;
    }
  }
  seen[seenNext] = kv;
  seenNext = (seenNext + 1) % seen.length;
  return str;
}

// The native call that got a set to keep returned: the slot is usable.
function commitHead() {
  if (pendingKV !== null) {
    slotKV[pendingSlot] = pendingKV;
    slotUniq[pendingSlot] = pendingUniq;
    slotLast = pendingSlot;
    pendingKV = null;
  }
}

// Body strings the addon keeps as UTF-8 (a handler's constant text, sent again and again):
// a kept string goes as its slot number, no string to read through N-API per response.
// Kept on its second use; short strings only; compared by value (=== on strings), the
// lengths first so that a miss costs little.
const BODY_SLOTS = 8; // a power of two
const BODY_MAX = 1024;
const bodyStr = Array.from({ length: BODY_SLOTS }, () => null);
const bodyLen = Array.from({ length: BODY_SLOTS }, () => -1);
const bodySeen = Array.from({ length: BODY_SLOTS }, () => null);
const seenLen = Array.from({ length: BODY_SLOTS }, () => -1);
const bodyCall = Array.from({ length: BODY_SLOTS }, () => 0);
let bodyNext = 0;
let bodyLast = 0;
let bodySeenNext = 0;
let bodyServer = null;
// Counts native calls with body arguments: a slot one argument of a call stands for is not
// given to another string by a later argument of the same call.
let callSeq = 1;

// The body argument of a native call for `chunk` (a string or Uint8Array, or undefined).
// (Every call site bumps callSeq first.) The slots are searched from the one used last on
// (strings are kept in the order a handler writes them, so the next is usually next).
function bodyArg(srv, chunk) {
  if (typeof chunk !== 'string' || srv !== bodyServer) return bodySlow(srv, chunk);
  const len = chunk.length;
  const last = bodyLast;
  for (let k = 0; k < BODY_SLOTS; k++) {
    const i = (last + k) & (BODY_SLOTS - 1);
    if (bodyLen[i] === len && bodyStr[i] === chunk) {
      bodyLast = i;
      bodyCall[i] = callSeq;
      return i;
    }
  }
  return bodySlow(srv, chunk);
}

function bodySlow(srv, chunk) {
  if (typeof chunk !== 'string') return chunk;
  const len = chunk.length;
  if (len > BODY_MAX || len === 0) return chunk;
  if (srv !== bodyServer) {
    bodyServer = srv;
    bodyStr.fill(null);
    bodyLen.fill(-1);
    bodySeen.fill(null);
    seenLen.fill(-1);
  }
  // (Not kept: bodyArg looked, or the slots were just emptied for another server.)
  for (let i = 0; i < BODY_SLOTS; i++) {
    if (seenLen[i] === len && bodySeen[i] === chunk) {
      seenLen[i] = -1;
      bodySeen[i] = null;
      let s = bodyNext;
      while (bodyCall[s] === callSeq) s = (s + 1) % BODY_SLOTS;
      bodyNext = (s + 1) % BODY_SLOTS;
      bodyCall[s] = callSeq;
      native.keepBody(srv, s, chunk);
      bodyStr[s] = chunk;
      bodyLen[s] = len;
      bodyLast = s;
      return s;
    }
  }
  bodySeen[bodySeenNext] = chunk;
  seenLen[bodySeenNext] = len;
  bodySeenNext = (bodySeenNext + 1) % BODY_SLOTS;
  return chunk;
}

function buildHeadStr(res) {
  let out = '';
  let n = 0;
  const h = headers(res);
  if (h !== null) {
    for (const k in h) {
      const e = h[k];
      const v = e[1];
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          out += (n++ === 0 ? '' : '\0') + e[0] + '\0' + String(v[i]);
        }
      } else {
        out += (n++ === 0 ? '' : '\0') + e[0] + '\0' + (typeof v === 'string' ? v : String(v));
      }
    }
  }
  const o = res._whObj;
  if (o !== null) {
    for (const k in o) {
      const v = o[k];
      if (v === undefined) continue;
      if (typeof v === 'string') {
        out += (n++ === 0 ? '' : '\0') + k + '\0' + v;
      } else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) out += (n++ === 0 ? '' : '\0') + k + '\0' + String(v[i]);
      } else {
        out += (n++ === 0 ? '' : '\0') + k + '\0' + String(v);
      }
    }
  }
  const a = res._whArr;
  if (a !== null) {
    for (let i = 0; i < a.length; i += 2) {
      const k = a[i];
      const v = a[i + 1];
      if (typeof v === 'string') {
        out += (n++ === 0 ? '' : '\0') + k + '\0' + v;
      } else if (Array.isArray(v)) {
        for (let j = 0; j < v.length; j++) out += (n++ === 0 ? '' : '\0') + k + '\0' + String(v[j]);
      } else {
        out += (n++ === 0 ? '' : '\0') + k + '\0' + String(v);
      }
    }
  }
  nPairs = n;
  return out;
}

function wflags(res) {
  let f = res._rm;
  if (!res.sendDate) f |= WF_NO_DATE;
  return f;
}

// A status message other than the standard one for the code, or undefined.
function message(res) {
  const m = res.statusMessage;
  if (m === undefined || m === STATUS_CODES[res.statusCode]) return undefined;
  return m;
}

function normalizeChunk(chunk, encoding) {
  if (typeof chunk === 'string') {
    if (encoding && encoding !== 'utf8' && encoding !== 'utf-8' && encoding !== 'buffer') {
      return Buffer.from(chunk, encoding);
    }
    return chunk;
  }
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk === null) {
    throw nodeError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
  }
  throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array');
}

function writeAfterEnd(res, cb) {
  const err = nodeError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
  process.nextTick(() => {
    if (typeof cb === 'function') cb(err);
    res.emit('error', err);
  });
}

proto.write = function write(chunk, encoding, cb) {
  if (typeof encoding === 'function') {
    cb = encoding;
    encoding = null;
  }
  if (this._ended) {
    writeAfterEnd(this, cb);
    return false;
  }
  chunk = normalizeChunk(chunk, encoding);
  if (!this._frozen) implicitHeader(this);
  if (this._destroyed || this._h === 0) return false;
  if (!this._sent) {
    checkStatus(this.statusCode);
    this._sent = true;
    this._frozen = true;
    this._pwStatus = this.statusCode;
  }
  // The chunk waits for the next write/end of this synchronous run (one native call for
  // them all: a handler's write, write, end is one), or the next tick, whichever first.
  if (this._pw === null) {
    this._pw = [chunk];
    this._pwLen = chunk.length;
    queueFlush(this);
  } else {
    this._pw.push(chunk);
    this._pwLen += chunk.length;
  }
  // Past the high-water mark, or while the writer waits for 'drain', the engine's verdict
  // is the answer: the writes go now.
  const ok = this._pwLen >= PENDING_MAX || this._needDrain ? flushWrites(this) : true;
  if (typeof cb === 'function') process.nextTick(cb);
  return ok;
};

// Hands a response's pending write() chunks (and its head, if not out yet) to the engine
// in one call, each chunk framed as its own write. Returns the engine's backpressure verdict.
function flushWrites(res) {
  const pw = res._pw;
  if (pw === null) return true;
  res._pw = null;
  res._pwLen = 0;
  if (res._h === 0) return false;
  const ok = sendPending(native.resWrite, res, res._pwStatus !== -1 ? wflags(res) : 0, pw);
  if (!ok) {
    // Backpressure (or a closed connection): the writer waits for 'drain', so 'close'
    // must reach it too. A write that went through needs neither.
    res._needDrain = true;
    if (!res._hooked) res._hook();
  }
  return ok;
}
proto._flushWrites = function _flushWrites() {
  if (this._pw !== null && !this._ended) flushWrites(this);
};

// resWrite/resEnd (`fn`) with the pending chunks `pw`, and the head that write() held
// back with them if it is not out yet (its status in `_pwStatus`, -1 once sent).
function sendPending(fn, res, flags, pw) {
  const status = res._pwStatus;
  if (status === -1) return callChunks(fn, res, 0, undefined, undefined, flags, pw, 0);
  res._pwStatus = -1;
  const head = headStr(res);
  const msg = message(res);
  const out = callChunks(fn, res, status, msg, head, flags | (msg !== undefined ? WF_MESSAGE : 0), pw, nPairs);
  commitHead();
  return out;
}

// resWrite/resEnd with the chunks of `pw`: up to 5 as arguments (the addon reads those
// past the 8 named ones as more chunks: no array to walk through N-API), more as an array.
function callChunks(fn, res, status, msg, head, flags, pw, pairs) {
  const s = res._server._h;
  const h = res._h;
  callSeq++;
  switch (pw.length) {
    case 1: return fn(s, h, status, msg, head, flags, bodyArg(s, pw[0]), pairs);
    case 2: return fn(s, h, status, msg, head, flags, bodyArg(s, pw[0]), pairs, bodyArg(s, pw[1]));
    case 3: return fn(s, h, status, msg, head, flags, bodyArg(s, pw[0]), pairs, bodyArg(s, pw[1]),
      bodyArg(s, pw[2]));
    case 4: return fn(s, h, status, msg, head, flags, bodyArg(s, pw[0]), pairs, bodyArg(s, pw[1]),
      bodyArg(s, pw[2]), bodyArg(s, pw[3]));
    case 5: return fn(s, h, status, msg, head, flags, bodyArg(s, pw[0]), pairs, bodyArg(s, pw[1]),
      bodyArg(s, pw[2]), bodyArg(s, pw[3]), bodyArg(s, pw[4]));
    default: return fn(s, h, status, msg, head, flags | WF_CHUNKS, pw, pairs);
  }
}

// Responses with pending writes, flushed on the next tick (one tick per server and run).
function queueFlush(res) {
  const server = res._server;
  if (server._pwq === undefined || server._pwq === null) {
    server._pwq = [res];
    process.nextTick(flushQueued, server);
  } else {
    server._pwq.push(res);
  }
}

function flushQueued(server) {
  const q = server._pwq;
  server._pwq = null;
  for (let i = 0; i < q.length; i++) {
    const r = q[i];
    if (r._pw !== null && !r._ended) flushWrites(r);
  }
}

proto.end = function end(chunk, encoding, cb) {
  if (typeof chunk === 'function') {
    cb = chunk;
    chunk = undefined;
  } else if (typeof encoding === 'function') {
    cb = encoding;
    encoding = null;
  }
  if (this._ended) {
    if (typeof cb === 'function') {
      if (this._finished) {
        const err = nodeError(Error, 'ERR_STREAM_ALREADY_FINISHED', 'Cannot call end after a stream was finished');
        process.nextTick(cb, err);
      } else {
        this.once('finish', cb);
      }
    }
    return this;
  }
  if (chunk !== undefined && chunk !== null) chunk = normalizeChunk(chunk, encoding);
  if (!this._frozen) {
    implicitHeader(this);
    if (this._ended) return this;
  } else if (this._trailersAdded && !this._sent && chunk != null) {
    // writeHead() + addTrailers() + end(data): trailers need chunked framing (as Node),
    // which the Content-Length of a one-call end would rule out.
    this.write(chunk);
    chunk = undefined;
  }
  if (typeof cb === 'function') this.once('finish', cb);
  if (this._destroyed || this._h === 0) {
    this._ended = true;
    return this;
  }
  const req = this.req;
  if (shape.learning) shape.learn(this);
  if (reqShape.learning) reqShape.learn(req);
  let flags = wflags(this);
  // Done with the engine's request and response right away unless someone listens for
  // 'finish'/'close' or the body is being read: then release later (_maybeRelease).
  const bodyDone = req._bodyId === 0 || req._bodyDone;
  // Someone listens, but this response holds the connection's socket (every response
  // before it finished): once ended, its bytes are queued in order on the connection, as
  // good as handed to it. 'finish' and 'close' then come from here on the next tick, as
  // Node's after its socket write, and the engine drops its hooks: no events to wait
  // for (on-finished's listeners, and Koa's context they hold, go at once).
  const detach = this._hooked && bodyDone && !this._closed && this._socket !== null &&
    this._socket._cur === this;
  const release = (!this._hooked || detach) && bodyDone;
  if (detach) flags |= WF_DETACH;
  if (release) {
    flags |= WF_RELEASE;
    if (req._rawHeaders === null && req._text === null) flags |= WF_SNAPSHOT;
  }
  let snap;
  const pw = this._pw;
  if (pw !== null) {
    // write()s of this run not sent yet: they and this end go in one call.
    this._pw = null;
    this._pwLen = 0;
    if (chunk !== undefined && chunk !== null) pw.push(chunk);
    // (One chunk still goes as a write: the head was framed by write(), chunked.)
    if (pw.length === 1) pw.push('');
    snap = sendPending(native.resEnd, this, flags, pw);
  } else if (!this._sent) {
    checkStatus(this.statusCode);
    const head = headStr(this);
    const msg = message(this);
    if (msg !== undefined) flags |= WF_MESSAGE;
    const s = this._server._h;
    callSeq++;
    snap = native.resEnd(s, this._h, this.statusCode, msg, head, flags, bodyArg(s, chunk), nPairs);
    commitHead();
    this._sent = true;
    this._frozen = true;
  } else {
    const s = this._server._h;
    callSeq++;
    snap = native.resEnd(s, this._h, 0, undefined, undefined, flags, bodyArg(s, chunk), 0);
  }
  this._ended = true;
  if (!this._hooked && this._socket !== null && this._socket._cur === this) nextOnSocket(this._socket);
  if (release) {
    if (req._tmo || this._tmo) dropTimeouts(this);
    if (snap !== undefined) req._rawHead = snap;
    if (detach) {
      this._server._responses.delete(this._h);
      process.nextTick(lateFinish, this);
    }
    req._h = 0;
    this._h = 0;
  }
  return this;
};

// A response is done with its socket once it ended, or, when someone listens for its
// 'finish'/'close', once those came (as Node, which hands the socket on at 'finish'):
// a pipelined response's listeners on the socket (on-finished's 'error'/'close') are
// gone before the next response's are added, never one set per response in flight.
function doneWithSocket(r) {
  return r._finished || r._closed || (r._ended && !r._hooked);
}

// The current response of a connection is done with it: the next one waiting gets it.
function nextOnSocket(s) {
  s._cur = null;
  const w = s._waiting;
  while (w && w.length > 0) {
    const r = w.shift();
    r._sockWait = false;
    if (r._closed) continue;
    s._cur = r;
    r._socket = s;
    r.emit('socket', s);
    if (r._ended) detachEnded(r);
    if (!doneWithSocket(r)) return;
    s._cur = null;
  }
}

// An ended response that someone listens to gets the socket: its bytes are queued right
// behind the earlier responses' (all finished), so it finishes now as well (see end()):
// the engine's hooks are dropped with its request and response.
function detachEnded(r) {
  const req = r.req;
  if (r._h === 0 || !r._hooked || r._finished || r._closed || !(req._bodyId === 0 || req._bodyDone)) return;
  if (req._tmo || r._tmo) dropTimeouts(r);
  r._server._responses.delete(r._h);
  const snap = native.release(r._server._h, r._h, req._rawHeaders === null && req._text === null, true);
  if (snap !== undefined) req._rawHead = snap;
  req._h = 0;
  r._h = 0;
  process.nextTick(lateFinish, r);
}

proto.flushHeaders = function flushHeaders() {
  if (this._ended) return;
  if (!this._sent) this.write('');
  flushWrites(this);
};

proto.writeContinue = function writeContinue(cb) {
  if (this._h !== 0) native.resContinue(this._server._h, this._h);
  if (typeof cb === 'function') process.nextTick(cb);
};

proto.writeProcessing = function writeProcessing(cb) {
  if (this._h !== 0 && !this._sent) native.resInformational(this._server._h, this._h, 102, []);
  if (typeof cb === 'function') process.nextTick(cb);
};

// Node's validateLinkHeaderValue.
const linkRe = /^(?:<[^>]*>)(?:\s*;\s*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/;
function linkValue(v) {
  if (typeof v === 'string' && linkRe.test(v)) return v;
  if (Array.isArray(v) && v.every((l) => typeof l === 'string' && linkRe.test(l))) return v.join(', ');
  throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE',
    `The arguments 'hints.link' is invalid. Received ${typeof v === 'string' ? `'${v}'` : typeof v}`);
}

// `HTTP/1.1 103 Early Hints` with the `Link` (and any other) hints, before the response.
proto.writeEarlyHints = function writeEarlyHints(hints, cb) {
  if (hints === null || typeof hints !== 'object' || Array.isArray(hints)) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "hints" argument must be of type object');
  }
  if (hints.link === null || hints.link === undefined) return;
  const link = linkValue(hints.link);
  if (link.length === 0) return;
  const flat = ['Link', link];
  for (const k of Object.keys(hints)) if (k !== 'link') flat.push(k, String(hints[k]));
  if (this._h !== 0 && !this._sent) native.resInformational(this._server._h, this._h, 103, flat);
  if (typeof cb === 'function') process.nextTick(cb);
};

proto.addTrailers = function addTrailers(headers) {
  const flat = [];
  if (Array.isArray(headers)) {
    for (const [k, v] of headers) flat.push(String(k), String(v));
  } else {
    for (const k in headers) flat.push(k, String(headers[k]));
  }
  for (let i = 0; i < flat.length; i += 2) {
    if (!tokenRe.test(flat[i])) {
      throw nodeError(TypeError, 'ERR_INVALID_HTTP_TOKEN', `Trailer name must be a valid HTTP token ["${flat[i]}"]`);
    }
    if (invalidCharRe.test(flat[i + 1])) {
      throw nodeError(TypeError, 'ERR_INVALID_CHAR', `Invalid character in trailer content ["${flat[i]}"]`);
    }
  }
  if (this._h !== 0) native.resTrailers(this._server._h, this._h, flat);
  this._trailersAdded = true;
};

proto.setTimeout = function setTimeout(msecs, cb) {
  if (cb) this.on('timeout', cb);
  if (this._h !== 0 && !this._ended && this._server._h !== null) {
    this._tmo = true;
    this._server._resTimeouts.set(this._h, this);
    native.msgTimeout(this._server._h, this._h, msecs, true);
  }
  const s = this.socket;
  if (s && typeof s._noteTimeout === 'function') s._noteTimeout(msecs);
  else if (s) s.setTimeout(msecs);
  return this;
};

function closedSocket(server) {
  const s = new Socket(server, -1);
  s.destroyed = true;
  s.readable = false;
  s.writable = false;
  return s;
}

// The engine's request/response are going away: forget their timeout routing.
function dropTimeouts(res) {
  const req = res.req;
  if (req._tmo) res._server._reqTimeouts.delete(res._h);
  if (res._tmo) res._server._resTimeouts.delete(res._h);
}

proto.cork = function cork() {};
proto.uncork = function uncork() {};
proto.assignSocket = function assignSocket() {};
proto.detachSocket = function detachSocket() {};

proto.destroy = function destroy(err) {
  if (this._destroyed) return this;
  if (this._pw !== null && !this._ended) flushWrites(this);
  this._destroyed = true;
  if (!this._hooked) this._hook();
  if (this._server._h !== null) native.connDestroy(this._server._h, this.req._fd, this._h);
  if (err) process.nextTick(() => this.emit('error', err));
  return this;
};

// Asks the engine for 'finish'/'close' (and lets write() ask for 'drain').
proto._hook = function _hook() {
  if (this._hooked) return;
  if (this._h === 0) {
    // Ended and already let go by the engine (nobody listened then): 'finish' and 'close'
    // come from here, as they would have for a listener added between end() and 'finish'
    // in Node (on-finished on a pipelined response that gets its socket after it ended).
    if (this._ended && !this._finished && !this._closed) {
      this._hooked = true;
      process.nextTick(lateFinish, this);
    }
    return;
  }
  this._hooked = true;
  const server = this._server;
  server._responses.set(this._h, this);
  const state = native.resHook(server._h, this._h);
  if (state === 0) {
    server._responses.delete(this._h);
    if (this._ended && !this._finished && !this._closed) process.nextTick(lateFinish, this);
  } else if (state === 2) {
    // The connection went away before anyone asked: no 'close' will come from the engine.
    process.nextTick(() => this._onClose());
  }
};

function lateFinish(res) {
  if (!res._finished && !res._closed) res._onFinish();
  res._onClose();
}

// Frees the engine's request/response once nothing can use them any more.
proto._maybeRelease = function _maybeRelease() {
  const req = this.req;
  if (this._h === 0 || (!this._ended && !this._closed) || (this._hooked && !this._closed) ||
      (req._bodyId !== 0 && !req._bodyDone)) {
    return;
  }
  if (req._tmo || this._tmo) dropTimeouts(this);
  const snap = native.release(this._server._h, this._h, req._rawHeaders === null && req._text === null);
  if (snap !== undefined) req._rawHead = snap;
  req._h = 0;
  this._h = 0;
};

proto._onFinish = function _onFinish() {
  this._finished = true;
  // As Node's resOnFinish (the first 'finish' listener): the next response gets the socket.
  const s = this._socket;
  if (s !== null && s._cur === this) nextOnSocket(s);
  this.emit('finish');
  const req = this.req;
  if (Object.prototype.hasOwnProperty.call(req, '_readableState') && req._bodyId === 0 &&
      !req._endPushed && !req.readableFlowing) {
    req._dump();
  }
};

proto._onClose = function _onClose() {
  this._server._responses.delete(this._h);
  if (this._closed) return;
  this._closed = true;
  this._maybeRelease();
  const s = this._socket;
  if (s !== null && s._cur === this) nextOnSocket(s);
  if (this._finished) {
    this._socket = null;
  } else {
    // As Node, an aborted response keeps its (now closed) socket: on-finished & co. read
    // `res.socket.writable` to see that it is over.
    this._destroyed = true;
    if (this._socket === null) this._socket = this.req._socket || closedSocket(this._server);
  }
  const req = this.req;
  // As Node's abortIncoming: a request whose response did not finish is 'aborted' first,
  // then the response's 'close', then the request's.
  if (!this._finished && !req.aborted && !req._closeEmitted) {
    req.aborted = true;
    req.emit('aborted');
  }
  this.emit('close');
  if (!req._closeEmitted) {
    req._closeEmitted = true;
    if (Object.prototype.hasOwnProperty.call(req, '_readableState')) {
      if (!req.destroyed) req.destroy();
    } else if (req.listenerCount('close') > 0) {
      req.emit('close');
    }
  }
};

proto._onDrain = function _onDrain() {
  this._needDrain = false;
  this.emit('drain');
};

const eeOn = EE.prototype.on;
const eePrepend = EE.prototype.prependListener;
function wants(self, ev) {
  if (!self._hooked && (ev === 'finish' || ev === 'close')) self._hook();
}
proto.on = proto.addListener = function on(ev, fn) {
  wants(this, ev);
  return eeOn.call(this, ev, fn);
};
proto.prependListener = function prependListener(ev, fn) {
  wants(this, ev);
  return eePrepend.call(this, ev, fn);
};

module.exports = { ServerResponse, validateHeaderName, validateHeaderValue, setDispatchers };
