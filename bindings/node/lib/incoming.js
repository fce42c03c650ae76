'use strict';
// http.IncomingMessage on a ringhttp request. A real stream.Readable, but its stream state,
// `headers` and `rawHeaders` are only built when first used: the common hello-world path
// touches none of them.
const { Readable } = require('stream');
const native = require('./native');

const F_HTTP11 = 1;
const F_BODY = 2;

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

function IncomingMessage(server, handle, method, url, flags) {
  this._server = server;
  this._h = handle;
  this._flags = flags;
  this.method = method;
  this.url = url;
  this._headers = null;
  this._rawHeaders = null;
  this._trailers = null;
  this._rawTrailers = null;
  this._bodyId = 0;
  this._pausedNative = false;
  this._endPushed = false;
  this._socket = null;
  this.complete = (flags & F_BODY) === 0;
  this.aborted = false;
  this.upgrade = false;
  this.statusCode = null;
  this.statusMessage = null;
}
Object.setPrototypeOf(IncomingMessage.prototype, Readable.prototype);
Object.setPrototypeOf(IncomingMessage, Readable);

// The Readable state is created on first use (any stream method or property).
Object.defineProperty(IncomingMessage.prototype, '_readableState', {
  configurable: true,
  enumerable: false,
  get() {
    Readable.call(this, { autoDestroy: false });
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
      if (this._rawHeaders === null) this._rawHeaders = native.reqRawHeaders(this._h);
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
        for (let i = 0; i < raw.length; i += 2) addHeaderLine(h, raw[i], raw[i + 1], join);
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
        if (!this.complete) return [];
        this._rawTrailers = native.reqRawTrailers(this._h);
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
      if (this._socket === null) this._socket = this._server._socketFor(native.reqFd(this._h));
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

function redefine(obj, name, value) {
  Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: true });
}

proto._read = function _read() {
  if ((this._flags & F_BODY) === 0) {
    if (!this._endPushed) {
      this._endPushed = true;
      this.push(null);
    }
    return;
  }
  if (this._bodyId === 0) {
    const server = this._server;
    this._bodyId = server._nextId++;
    server._bodies.set(this._bodyId, this);
    native.reqBody(this._h, this._bodyId);
  } else if (this._pausedNative) {
    this._pausedNative = false;
    native.reqPause(this._h, false);
  }
};

// Called by the server's event dispatch.
proto._onData = function _onData(chunk) {
  if (!this.push(chunk) && !this._pausedNative) {
    this._pausedNative = true;
    native.reqPause(this._h, true);
  }
};

proto._onEnd = function _onEnd() {
  this._server._bodies.delete(this._bodyId);
  this.complete = true;
  this._endPushed = true;
  this.push(null);
};

proto._onAborted = function _onAborted() {
  this._server._bodies.delete(this._bodyId);
  if (this.complete) return;
  const err = new Error('aborted');
  err.code = 'ECONNRESET';
  this.destroy(err);
};

proto._destroy = function _destroy(err, cb) {
  if (!this.complete) {
    this.aborted = true;
    this.emit('aborted');
  }
  if (this._bodyId !== 0 && !this.complete) native.resDestroy(this._h);
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
  if (cb) this.once('timeout', cb);
  this.socket.setTimeout(msecs);
  return this;
};

// 'close' on a request follows its response's 'close': ask for it when someone listens.
function wantsClose(self, ev) {
  if (ev === 'close' && self._res && !self._res._hooked) self._res._hook();
}
const readableOn = Readable.prototype.on;
proto.on = proto.addListener = function on(ev, fn) {
  wantsClose(this, ev);
  return readableOn.call(this, ev, fn);
};
const prepend = Readable.prototype.prependListener;
proto.prependListener = function prependListener(ev, fn) {
  wantsClose(this, ev);
  return prepend.call(this, ev, fn);
};

module.exports = { IncomingMessage, F_BODY, F_HTTP11 };
