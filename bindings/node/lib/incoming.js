'use strict';
// http.IncomingMessage on a ringhttp request. A real stream.Readable, but its stream state,
// `headers` and `rawHeaders` are only built when first used: the common hello-world path
// touches none of them.
const EE = require('events');
const { Readable } = require('stream');
const native = require('./native');
const { code } = require('./codes');
const { Expando } = require('./expando');

const F_HTTP11 = code('RF_HTTP11');
const F_BODY = code('RF_BODY');

// Node's matchKnownFields: these keep only their first value.
const FIRST_WINS = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from',
  'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location',
  'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

function addHeaderLine(dest, field, value, joinDuplicates) {
  const lower = field.toLowerCase();
  const cur = dest[lower];
  if (cur === undefined) {
    dest[lower] = lower === 'set-cookie' ? [value] : value;
  } else if (lower === 'set-cookie') {
    cur.push(value);
  } else if (lower === 'cookie') {
    dest[lower] = cur + '; ' + value;
  } else if (joinDuplicates || !FIRST_WINS.has(lower)) {
    dest[lower] = cur + ', ' + value;
  }
}

// `text`/`hs`/`he`: the batch text the request head's bytes are in, and where.
function IncomingMessage(server, handle, method, url, flags, fd, text, hs, he) {
  this._server = server;
  this._h = handle;
  this._fd = fd;
  this._flags = flags;
  this._text = text === undefined ? null : text;
  this._hs = hs | 0;
  this._he = he | 0;
  this._res = null;
  this.method = method;
  this.url = url;
  this._headers = null;
  this._rawHeaders = null;
  this.complete = false;
  this.aborted = false;
  this.upgrade = false;
  this.statusCode = null;
  this.statusMessage = null;
  // Own fields, not defaults on the prototype: a framework that swaps the prototype
  // (Express: `Object.setPrototypeOf(req, app.request)`) would otherwise reach them
  // through register.js's accessors on every read and write.
  this._rawHead = undefined;
  this._bodyDone = false;
  this._trailers = null;
  this._rawTrailers = null;
  this._bodyId = 0;
  // The whole body when it came with the request (a Buffer, maybe empty): pushed at the
  // first read, no addon call.
  this._whole = null;
  this._pausedNative = false;
  this._endPushed = false;
  // Light delivery of `_whole` (see lightOn): 0 off, 1 'data' due, 2 'end' due, 3 done.
  this._light = 0;
  this._socket = null;
  this._tmo = false;
  // The fields a prototype-swapping framework adds to every request (see expando.js).
  if (shape.init !== null) shape.init(this);
  else if (shape.fields === null) shape.noteFields(this);
}
Object.setPrototypeOf(IncomingMessage.prototype, Readable.prototype);
Object.setPrototypeOf(IncomingMessage, Readable);
const shape = new Expando(IncomingMessage.prototype);

// The Readable state is created on first use (any stream method or property).
const READABLE_OPTS = Object.freeze({ autoDestroy: false });
Object.defineProperty(IncomingMessage.prototype, '_readableState', {
  configurable: true,
  enumerable: false,
  get() {
    Readable.call(this, READABLE_OPTS);
    if (this._light !== 0) unlight(this);
    return this._readableState;
  },
  set(v) {
    Object.defineProperty(this, '_readableState', {
      value: v, writable: true, configurable: true, enumerable: true,
    });
  },
});

const proto = IncomingMessage.prototype;

Object.defineProperties(proto, {
  httpVersion: { get() { return this._flags & F_HTTP11 ? '1.1' : '1.0'; }, set(v) { redefine(this, 'httpVersion', v); }, configurable: true },
  httpVersionMajor: { get() { return 1; }, set(v) { redefine(this, 'httpVersionMajor', v); }, configurable: true },
  httpVersionMinor: { get() { return this._flags & F_HTTP11 ? 1 : 0; }, set(v) { redefine(this, 'httpVersionMinor', v); }, configurable: true },
  rawHeaders: {
    get() {
      if (this._rawHeaders === null) {
        // From the head's bytes when JS has them (the batch text, or the snapshot kept at
        // release): a few string slices, where the addon would make one string per name
        // and value through N-API (Fastify reads headers on every request).
        this._rawHeaders = this._text !== null
          ? parseHead(this._text, this._hs, this._he)
          : this._rawHead !== undefined || this._h === 0
            ? parseHead(this._rawHead, 0, this._rawHead === undefined ? 0 : this._rawHead.length)
            : native.reqRawHeaders(this._server._h, this._h);
      }
      return this._rawHeaders;
    },
    set(v) { this._rawHeaders = v; },
    configurable: true,
  },
  headers: {
    get() {
      if (this._headers === null) {
        const raw = this.rawHeaders;
        const h = {};
        const join = this._server._joinDuplicateHeaders;
        // As Node: rawHeaders has them all, `headers` the first maxHeadersCount (2000).
        const max = this._server.maxHeadersCount;
        const n = max > 0 ? Math.min(raw.length, max * 2) : max === 0 ? raw.length : Math.min(raw.length, 4000);
        for (let i = 0; i < n; i += 2) addHeaderLine(h, raw[i], raw[i + 1], join);
        this._headers = h;
      }
      return this._headers;
    },
    set(v) { this._headers = v; },
    configurable: true,
  },
  headersDistinct: {
    get() {
      const raw = this.rawHeaders;
      const d = {};
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i].toLowerCase();
        (d[k] || (d[k] = [])).push(raw[i + 1]);
      }
      return d;
    },
    configurable: true,
  },
  rawTrailers: {
    get() {
      if (this._rawTrailers === null) {
        if (!this.complete || this._h === 0) return [];
        this._rawTrailers = native.reqRawTrailers(this._server._h, this._h);
      }
      return this._rawTrailers;
    },
    set(v) { this._rawTrailers = v; },
    configurable: true,
  },
  trailers: {
    get() {
      if (this._trailers === null) {
        const raw = this.rawTrailers;
        const t = {};
        for (let i = 0; i < raw.length; i += 2) addHeaderLine(t, raw[i], raw[i + 1], false);
        if (!this.complete) return t;
        this._trailers = t;
      }
      return this._trailers;
    },
    set(v) { this._trailers = v; },
    configurable: true,
  },
  socket: {
    get() {
      if (this._socket === null) {
        this._socket = this._server._socketFor(this._fd);
        // A raw write on the socket takes the connection over through a live request.
        this._socket._req = this;
      }
      return this._socket;
    },
    set(v) { this._socket = v; },
    configurable: true,
  },
  connection: {
    get() { return this.socket; },
    set(v) { this._socket = v; },
    configurable: true,
  },
});

// rawHeaders from the request head's bytes (kept when the engine's request was released
// before JS read the headers).
function parseHead(s, from, to) {
  const out = [];
  if (typeof s !== 'string') return out;
  let i = s.indexOf('\n', from) + 1;
  while (i > 0 && i < to) {
    let j = s.indexOf('\n', i);
    if (j < 0 || j > to) j = to;
    let end = j > i && s.charCodeAt(j - 1) === 13 ? j - 1 : j;
    if (end === i) break;
    const c = s.indexOf(':', i);
    if (c < 0 || c > end) break;
    // The value without the optional whitespace around it (the engine rejects obs-fold).
    let v = c + 1;
    while (v < end && isOws(s.charCodeAt(v))) v++;
    while (end > v && isOws(s.charCodeAt(end - 1))) end--;
    out.push(s.slice(i, c), s.slice(v, end));
    i = j + 1;
  }
  return out;
}

function isOws(ch) {
  return ch === 32 || ch === 9;
}

function redefine(obj, name, value) {
  Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: true });
}

proto._pushWhole = function _pushWhole() {
  const whole = this._whole;
  this._whole = null;
  this._endPushed = true;
  if (whole.length !== 0) this.push(whole);
  this.push(null);
};

proto._read = function _read() {
  if (this._whole !== null) {
    this._pushWhole();
    return;
  }
  if ((this._flags & F_BODY) === 0) {
    if (!this._endPushed) {
      this._endPushed = true;
      this.push(null);
    }
    return;
  }
  if (this._h === 0) return;
  const server = this._server;
  if (this._bodyId === 0) {
    this._bodyId = this._h;
    server._bodies.set(this._h, this);
    native.reqBody(server._h, this._h);
  } else if (this._pausedNative) {
    this._pausedNative = false;
    native.reqPause(server._h, this._h, false);
  }
};

// Called by the server's event dispatch.
proto._onData = function _onData(chunk) {
  if (!this.push(chunk) && !this._pausedNative && this._h !== 0) {
    this._pausedNative = true;
    native.reqPause(this._server._h, this._h, true);
  }
};

// `trailers`: false when the body came without trailers (nothing to ask the addon).
proto._onEnd = function _onEnd(trailers) {
  const server = this._server;
  server._bodies.delete(this._bodyId);
  this.complete = true;
  this._bodyDone = true;
  this._endPushed = true;
  if (this._h !== 0) this._rawTrailers = trailers === false ? [] : native.reqRawTrailers(server._h, this._h);
  this.push(null);
  if (this._res) this._res._maybeRelease();
};

proto._onAborted = function _onAborted() {
  this._server._bodies.delete(this._bodyId);
  this._bodyDone = true;
  if (this._res) this._res._maybeRelease();
  if (this.complete) return;
  const err = new Error('aborted');
  err.code = 'ECONNRESET';
  this.destroy(err);
};

proto._destroy = function _destroy(err, cb) {
  if (!this.complete && !this.aborted) {
    this.aborted = true;
    this.emit('aborted');
  }
  if (!this.complete && this._server._h !== null) native.connDestroy(this._server._h, this._fd, this._h);
  if (err && this.listenerCount('error') === 0) cb();
  else cb(err);
};

// Unread bodies are discarded once the response is done (Node's req._dump()).
proto._dump = function _dump() {
  if (this._dumped) return;
  this._dumped = true;
  this.removeAllListeners('data');
  this.resume();
};

proto.setTimeout = function setTimeout(msecs, cb) {
  if (cb) this.on('timeout', cb);
  if (this._h !== 0 && this._server._h !== null) {
    this._tmo = true;
    this._server._reqTimeouts.set(this._h, this);
    native.msgTimeout(this._server._h, this._h, msecs, false);
  }
  const s = this.socket;
  if (typeof s._noteTimeout === 'function') s._noteTimeout(msecs);
  else s.setTimeout(msecs);
  return this;
};

// 'close' on a request follows its response's 'close': ask for it when someone listens.
function wantsClose(self, ev) {
  if ((ev === 'close' || ev === 'aborted') && self._res && !self._res._hooked) self._res._hook();
}
const readableOn = Readable.prototype.on;
const eeOn = EE.prototype.on;
const eeRemove = EE.prototype.removeListener;
proto.on = proto.addListener = function on(ev, fn) {
  if (this._light !== 0) {
    // Readable's on() acts on 'data' and 'readable' only: other listeners need no state.
    if (ev === 'data') return eeOn.call(this, ev, fn);
    if (ev !== 'readable') {
      wantsClose(this, ev);
      return eeOn.call(this, ev, fn);
    }
  } else if (ev === 'data' && this._whole !== null && !Object.prototype.hasOwnProperty.call(this, '_readableState')) {
    this._light = 1;
    process.nextTick(lightData, this);
    return eeOn.call(this, ev, fn);
  }
  wantsClose(this, ev);
  return readableOn.call(this, ev, fn);
};

// Light delivery: a body that came whole with its request (`_whole`), read the simple way
// (`on('data')` before the stream state exists, then any listeners but 'readable'), is emitted
// without building the stream state: 'data' on the next tick and 'end' on a tick after the
// ones its listeners queued, as in Node (two ticks where the stream takes four, and no
// state object). Anything else that touches the stream (pause, pipe, setEncoding, read,
// 'readable', async iteration, `readable`...) builds the state, and `unlight` hands it
// what the light path has done so far: the stream takes over from there.

function lightData(req) {
  if (req._light !== 1) return; // the stream took over
  const whole = req._whole;
  req._whole = null;
  req._endPushed = true;
  req._light = 2;
  try {
    if (whole.length !== 0) req.emit('data', whole);
  } finally {
    // After what the 'data' listeners queued, as in Node.
    process.nextTick(lightEnd, req);
  }
}

function lightEnd(req) {
  if (req._light !== 2) return;
  req._light = 3;
  req.emit('end');
}

function lightNoop() {}

// The stream state was just built on a light request: bring it where the stream would be.
function unlight(req) {
  const l = req._light;
  req._light = 0;
  const state = req._readableState;
  if (l !== 3) {
    // As on('data') did: data listening, flowing from the next tick.
    readableOn.call(req, 'data', lightNoop);
    eeRemove.call(req, 'data', lightNoop);
    // 1: `_whole` is still there; _read or onRequest pushes it. 2: it went out as 'data':
    // 'end' follows once the stream flows (now, or at resume() when it was paused).
    if (l === 2) req.push(null);
  } else {
    state.flowing = true;
    state.dataEmitted = true;
    state.ended = true;
    state.endEmitted = true;
  }
}
// Readable's removeListener() acts on 'data' and 'readable': a light request has no state
// to update ('data' listening is set when the state is built).
const readableRemove = Readable.prototype.removeListener;
proto.removeListener = proto.off = function removeListener(ev, fn) {
  if (this._light !== 0 && ev !== 'readable') return eeRemove.call(this, ev, fn);
  return readableRemove.call(this, ev, fn);
};
const prepend = Readable.prototype.prependListener;
proto.prependListener = function prependListener(ev, fn) {
  wantsClose(this, ev);
  return prepend.call(this, ev, fn);
};

module.exports = { IncomingMessage, F_BODY, F_HTTP11, shape };
