'use strict';
// http.Server on one ringhttp shard, driven from this thread's libuv loop.
const EE = require('events');
const dns = require('dns');
const fs = require('fs');
const http = require('http');
const net = require('net');
const native = require('./native');
const { IncomingMessage } = require('./incoming');
const { ServerResponse } = require('./response');
const { Socket } = require('./socket');
const { RawSocket } = require('./rawsocket');
const { code } = require('./codes');

const EV_CONNECTION = code('EV_CONNECTION');
const EV_CONN_CLOSE = code('EV_CONN_CLOSE');
const EV_CLIENT_ERROR = code('EV_CLIENT_ERROR');
const EV_TIMEOUT = code('EV_TIMEOUT');
const EV_DATA = code('EV_DATA');
const EV_END = code('EV_END');
const EV_ABORTED = code('EV_ABORTED');
const EV_FINISH = code('EV_FINISH');
const EV_CLOSE = code('EV_CLOSE');
const EV_DRAIN = code('EV_DRAIN');
const EV_SERVER_CLOSE = code('EV_SERVER_CLOSE');
const EV_SOCK_DATA = code('EV_SOCK_DATA');
const EV_SOCK_END = code('EV_SOCK_END');
const EV_SOCK_DRAIN = code('EV_SOCK_DRAIN');
const EV_SOCK_CLOSE = code('EV_SOCK_CLOSE');
const EV_REQ_TIMEOUT = code('EV_REQ_TIMEOUT');
const EV_RES_TIMEOUT = code('EV_RES_TIMEOUT');

const F_CONTINUE = code('RF_CONTINUE');
const F_EXPECTATION = code('RF_EXPECTATION');
const F_DROP = code('RF_DROP');
const F_BODY = code('RF_BODY');
const F_WHOLE = code('RF_WHOLE');
const POOL_SHIFT = code('WHOLE_POOL_SHIFT');
const EMPTY = Buffer.alloc(0);
const F_UPGRADE = code('RF_UPGRADE');
const F_CONNECT = code('RF_CONNECT');

const PARSE_MESSAGES = {
  HPE_HEADER_OVERFLOW: 'Header overflow',
  HPE_INVALID_METHOD: 'Invalid method encountered',
  HPE_INVALID_URL: 'Invalid URL',
  HPE_INVALID_VERSION: 'Invalid HTTP version',
  HPE_INVALID_HEADER_TOKEN: 'Invalid header token',
  HPE_INVALID_CONTENT_LENGTH: 'Invalid character in Content-Length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length can\'t be present with Transfer-Encoding',
  HPE_INVALID_CHUNK_SIZE: 'Invalid character in chunk size header',
  HPE_INVALID_TRANSFER_ENCODING: 'Invalid `Transfer-Encoding` header value',
};

function serverError(server, res, err) {
  // A throwing 'request' listener: answer 500 if nothing went out, else cut the
  // connection; the exception itself goes on to 'uncaughtException' (rethrown).
  try {
    if (!res._frozen && !res._ended) {
      res._hdrs = null;
      res._ckv = null;
      res._cn = 0;
      res._whObj = null;
      res._whArr = null;
      res.statusMessage = undefined;
      res.writeHead(500, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('Internal Server Error');
    } else if (!res._ended) {
      res.destroy();
    }
  } catch (_) {
    // The response is beyond repair; the connection will be closed by the engine.
  }
}

// Indexes of the methods the addon passes as numbers.
const METHOD_NAMES = [undefined, 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
// Ints per request in the batch array (see request_cb in src/lib.rs).
const BATCH_INTS = 10;
// Requests per onBatch call; after a full one the addon runs nextTicks and microtasks
// before dispatching more (Js::drain_ticks).
const BATCH_CAP = 256;

// The requests of one engine turn: descriptions in server._batch, custom methods and
// urls in `text`. Returns the exceptions listeners threw (re-raised by the addon as
// 'uncaughtException' after the turn), or undefined.
function makeOnBatch(server) {
  const b = server._batch;
  // pools: the ArrayBuffers the whole bodies (F_WHOLE) are in.
  return function onBatch(n, text, pools) {
    let errs;
    for (let i = 0, o = 0; i < n; i++, o += BATCH_INTS) {
      const m = b[o + 3];
      const method = m !== 0 ? METHOD_NAMES[m] : text.slice(b[o + 4], b[o + 7]);
      const flags = b[o + 1];
      let body;
      if ((flags & F_WHOLE) !== 0) {
        const at = b[o + 9];
        body = (at & 0xffff) === 0 ? EMPTY : Buffer.from(pools[flags >>> POOL_SHIFT], at >>> 16, at & 0xffff);
      }
      try {
        onRequest(server, b[o], method, text.slice(b[o + 5], b[o + 6]), flags, b[o + 2], text, b[o + 7], b[o + 8], body);
      } catch (err) {
        (errs || (errs = [])).push(err);
      }
    }
    return errs;
  };
}

function makeOnRequest(server) {
  return function onRawRequest(handle, method, url, flags, fd, sockId, head) {
    if ((flags & (F_UPGRADE | F_CONNECT)) !== 0) return onRaw(server, handle, method, url, flags, fd, sockId, head);
    return onRequest(server, handle, method, url, flags, fd);
  };
}

// `body`: the whole request body when it came with the request (see F_WHOLE).
function onRequest(server, handle, method, url, flags, fd, text, hs, he, body) {
  if ((flags & F_DROP) !== 0) return onDrop(server, handle, method, url, flags, fd, text, hs, he);
  {
    // The default classes by name: a constant target the JIT can inline.
    const req = server._IncomingMessage === IncomingMessage
      ? new IncomingMessage(server, handle, method, url, flags, fd, text, hs, he)
      : new server._IncomingMessage(server, handle, method, url, flags, fd, text, hs, he);
    if (body !== undefined) req._whole = body;
    const res = server._ServerResponse === ServerResponse
      ? new ServerResponse(server, handle, req)
      : new server._ServerResponse(server, handle, req);
    try {
      if ((flags & (F_CONTINUE | F_EXPECTATION)) === 0) {
        server.emit('request', req, res);
      } else if (flags & F_CONTINUE) {
        if (server.listenerCount('checkContinue') > 0) {
          server.emit('checkContinue', req, res);
        } else {
          res.writeContinue();
          server.emit('request', req, res);
        }
      } else if (server.listenerCount('checkExpectation') > 0) {
        server.emit('checkExpectation', req, res);
      } else {
        res.writeHead(417);
        res.end();
      }
    } catch (err) {
      serverError(server, res, err);
      throw err;
    }
    // As Node: a request without a body (or whose body came with it) is complete once
    // its head has been handled.
    if ((flags & F_BODY) === 0 || body !== undefined) {
      req.complete = true;
      // As Node's parser, which pushes a body that came with its head right after the
      // 'request' listeners ran: when they started reading, no _read round trip.
      if (body !== undefined && req._whole !== null && Object.prototype.hasOwnProperty.call(req, '_readableState')) {
        req._pushWhole();
      }
    }
  }
}

// A request over maxRequestsPerSocket: the engine answers it 503 itself (Node's
// `writeHead(503); end()` after emitting). 'dropRequest' gets the request, without its
// body, and the socket.
function onDrop(server, handle, method, url, flags, fd, text, hs, he) {
  native.release(server._h, handle, false);
  if (server.listenerCount('dropRequest') === 0) return;
  const req = new server._IncomingMessage(server, 0, method, url, flags, fd, text, hs, he);
  server.emit('dropRequest', req, req.socket);
  req.complete = true;
}

// 'upgrade' / 'connect': the request (its head kept as bytes: the engine's request is
// released at once) and a raw socket over the connection.
function onRaw(server, handle, method, url, flags, fd, sockId, head) {
  const req = new server._IncomingMessage(server, handle, method, url, flags & ~F_BODY, fd);
  req._rawHead = native.release(server._h, handle, true);
  req._h = 0;
  req.upgrade = true;
  req.complete = true;
  const sock = new RawSocket(server, sockId, fd);
  server._raw.set(sockId, sock);
  req._socket = sock;
  const ev = (flags & F_CONNECT) !== 0 ? 'connect' : 'upgrade';
  if (server.listenerCount(ev) === 0) {
    // The listener went away after the engine was told; Node would close the connection.
    sock.destroy();
    return;
  }
  try {
    server.emit(ev, req, sock, head);
  } catch (err) {
    sock.destroy();
    throw err;
  }
}

function makeOnEvent(server) {
  return function onEvent(kind, a, b, c) {
    switch (kind) {
      case EV_DATA: {
        // A chunk: a Buffer, or a slice of the addon's pool (c = offset << 16 | length).
        const req = server._bodies.get(a);
        if (req !== undefined) req._onData(c === undefined ? b : Buffer.from(b, c >>> 16, c & 0xffff));
        return undefined;
      }
      case EV_END: {
        const req = server._bodies.get(a);
        if (req !== undefined) req._onEnd(b);
        return undefined;
      }
      case EV_FINISH: {
        const res = server._responses.get(a);
        if (res !== undefined) res._onFinish();
        return undefined;
      }
      case EV_CLOSE: {
        const res = server._responses.get(a);
        if (res !== undefined) res._onClose();
        return undefined;
      }
      case EV_DRAIN: {
        const res = server._responses.get(a);
        if (res !== undefined) res._onDrain();
        return undefined;
      }
      case EV_ABORTED: {
        const req = server._bodies.get(a);
        if (req !== undefined) req._onAborted();
        return undefined;
      }
      case EV_SOCK_DATA: {
        const s = server._raw.get(a);
        if (s !== undefined) s._onData(b);
        return undefined;
      }
      case EV_SOCK_END: {
        const s = server._raw.get(a);
        if (s !== undefined) s._onEnd();
        return undefined;
      }
      case EV_SOCK_DRAIN: {
        const s = server._raw.get(a);
        if (s !== undefined) s._onDrain();
        return undefined;
      }
      case EV_SOCK_CLOSE: {
        const s = server._raw.get(a);
        if (s !== undefined) {
          server._raw.delete(a);
          s._onClose();
        }
        return undefined;
      }
      case EV_CONNECTION:
        if (server.listenerCount('connection') > 0) server.emit('connection', server._socketFor(a));
        return undefined;
      case EV_CONN_CLOSE: {
        const s = server._sockets.get(a);
        if (s !== undefined) {
          server._sockets.delete(a);
          s._onClose();
        }
        return undefined;
      }
      case EV_REQ_TIMEOUT:
      case EV_RES_TIMEOUT: {
        // Node's socketOnTimeout: the incomplete request's and the current response's
        // 'timeout' come first (the engine calls them, then EV_TIMEOUT).
        const m = (kind === EV_REQ_TIMEOUT ? server._reqTimeouts : server._resTimeouts).get(a);
        if (m !== undefined && m.emit('timeout', m.socket)) server._timeoutHandled = true;
        return undefined;
      }
      case EV_TIMEOUT: {
        const s = server._socketFor(a);
        const handled = server._timeoutHandled;
        server._timeoutHandled = false;
        // Node's socketOnTimeout: the socket's own listeners do not keep it; only a
        // request/response (above) or server 'timeout' listener does.
        s.emit('timeout');
        if (server.listenerCount('timeout') > 0) server.emit('timeout', s);
        else if (!handled) s.destroy();
        return undefined;
      }
      case EV_CLIENT_ERROR:
        return clientError(server, a, b, c);
      case EV_SERVER_CLOSE:
        server._closed();
        return undefined;
      default:
        return undefined;
    }
  };
}

function clientError(server, fd, code, message) {
  if (server.listenerCount('clientError') === 0) return undefined;
  const err = new Error(`Parse Error: ${PARSE_MESSAGES[code] || message}`);
  err.code = code;
  err.bytesParsed = 0;
  const sock = server._socketFor(fd);
  sock._capture = [];
  try {
    server.emit('clientError', err, sock);
  } finally {
    const out = sock._capture;
    sock._capture = null;
    sock.writable = false;
    // eslint-disable-next-line no-unsafe-finally
    return out.length ? Buffer.concat(out) : Buffer.alloc(0);
  }
}

class Server extends EE {
  constructor(options, requestListener) {
    super();
    if (typeof options === 'function') {
      requestListener = options;
      options = {};
    } else if (options == null) {
      options = {};
    } else if (typeof options !== 'object') {
      const e = new TypeError('The "options" argument must be of type object');
      e.code = 'ERR_INVALID_ARG_TYPE';
      throw e;
    }
    this._options = options;
    this._IncomingMessage = options.IncomingMessage || IncomingMessage;
    this._ServerResponse = options.ServerResponse || ServerResponse;
    this._joinDuplicateHeaders = !!options.joinDuplicateHeaders;
    this._h = null;
    this._live = { __proto__: null };
    this.timeout = 0;
    this.keepAliveTimeout = options.keepAliveTimeout ?? 5000;
    // Node 24.6's option; Node 20 closes an idle connection 1 s after keepAliveTimeout too.
    const buf = options.keepAliveTimeoutBuffer;
    this.keepAliveTimeoutBuffer = typeof buf === 'number' && Number.isFinite(buf) && buf >= 0 ? buf : 1000;
    this.headersTimeout = options.headersTimeout ?? 60000;
    this.requestTimeout = options.requestTimeout ?? 300000;
    this.maxHeadersCount = null;
    this.maxRequestsPerSocket = 0;
    this.listening = false;
    this.backend = null;
    this._handle = null;
    this._lookup = false;
    this._address = null;
    this._unixPath = null;
    this._unref = false;
    this._bodies = new Map();
    this._responses = new Map();
    this._sockets = new Map();
    this._raw = new Map();
    this._reqTimeouts = new Map();
    this._resTimeouts = new Map();
    this._timeoutHandled = false;
    this._onRequest = makeOnRequest(this);
    this._onEvent = makeOnEvent(this);
    this._batch = new Int32Array(BATCH_INTS * BATCH_CAP);
    this._onBatch = makeOnBatch(this);
    if (requestListener) this.on('request', requestListener);
    // The engine hands connections over for 'upgrade'/'connect' only while JS listens
    // (without a listener it applies Node's defaults itself).
    const rawListeners = (ev) => {
      if ((ev === 'upgrade' || ev === 'connect') && this._h !== null) {
        process.nextTick(() => this._syncRaw());
      }
    };
    this.on('newListener', rawListeners);
    this.on('removeListener', rawListeners);
  }

  _syncRaw() {
    if (this._h !== null) {
      native.setRaw(this._h, this.listenerCount('upgrade') > 0, this.listenerCount('connect') > 0);
    }
  }

  listen(...args) {
    let cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    let port = 0;
    let host;
    let path;
    let backlog;
    let reusePort = false;
    const a0 = args[0];
    if (a0 !== null && typeof a0 === 'object') {
      port = a0.port ?? 0;
      host = a0.host;
      path = a0.path;
      backlog = a0.backlog;
      reusePort = !!a0.reusePort;
    } else if (typeof a0 === 'string' && !/^\d+$/.test(a0)) {
      path = a0;
      backlog = args[1];
    } else {
      if (a0 !== undefined && a0 !== null) port = Number(a0);
      if (typeof args[1] === 'string') {
        host = args[1];
        backlog = args[2];
      } else if (typeof args[1] === 'number') {
        backlog = args[1];
      }
    }
    // Node takes a numeric string for the port (`{ port: '3000' }`) too.
    if (typeof port === 'string' && /^\s*\d+\s*$/.test(port)) port = Number(port);
    if (path === undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      const e = new RangeError(`options.port should be >= 0 and < 65536. Received ${args[0]}.`);
      e.code = 'ERR_SOCKET_BAD_PORT';
      throw e;
    }
    if (this._h !== null) {
      const e = new Error('Listen method has been called more than once without closing.');
      e.code = 'ERR_SERVER_ALREADY_LISTEN';
      throw e;
    }
    if (cb) this.once('listening', cb);
    // Like Node for an IP host: bound at once (`listen(0); address().port` works), 'listening'
    // (or 'error') on the next tick. Options changed later reach the shard (setOptions).
    // A host name is looked up first, as Node does (then bound to the address it gives).
    if (typeof host === 'string' && host !== '' && net.isIP(host.replace(/^\[|\]$/g, '')) === 0) {
      this._lookup = true;
      dns.lookup(host, (err, address) => {
        if (!this._lookup) return; // closed meanwhile
        this._lookup = false;
        if (err) {
          this.emit('error', err);
        } else if (this._h === null) {
          this._listen({ port, host: address, path, backlog, reusePort });
        }
      });
      return this;
    }
    this._listen({ port, host, path, backlog, reusePort });
    return this;
  }

  _listen(p) {
    const opts = {
      ...this._liveOptions(),
      maxHeaderSize: this._options.maxHeaderSize ?? http.maxHeaderSize,
      backlog: p.backlog,
      reusePort: p.reusePort,
      backend: this._options.backend || process.env.RINGHTTP_BACKEND,
    };
    const attempts = [];
    if (p.path !== undefined) {
      attempts.push([`unix:${p.path}`, null]);
    } else if (p.host === undefined || p.host === null || p.host === '') {
      attempts.push([`[::]:${p.port}`, { address: '::', family: 'IPv6' }]);
      attempts.push([`0.0.0.0:${p.port}`, { address: '0.0.0.0', family: 'IPv4' }]);
    } else {
      const v6 = p.host.includes(':');
      const h = v6 && !p.host.startsWith('[') ? `[${p.host}]` : p.host;
      attempts.push([`${h}:${p.port}`, { address: p.host.replace(/^\[|\]$/g, ''), family: v6 ? 'IPv6' : 'IPv4' }]);
    }
    let lastErr;
    for (const [addr, info] of attempts) {
      try {
        const [h, port, backend] = native.listen(opts, addr, this._onRequest, this._onEvent, this._onBatch, this._batch);
        this._h = h;
        this._stats = h; // kept after close: the counters stay readable
        this.backend = backend;
        this._syncRaw();
        if (info === null) {
          this._unixPath = p.path;
          this._address = p.path;
        } else {
          let { address, family } = info;
          if (address === 'localhost') {
            address = '127.0.0.1';
            family = 'IPv4';
          }
          this._address = { address, family, port };
        }
        if (this._unref) native.setRef(h, false);
        this.listening = true;
        this._handle = new ListenHandle(this, h);
        if (this._announce !== undefined) this._announce();
        process.nextTick(emitListening, this, h);
        return;
      } catch (e) {
        lastErr = e;
        if (e.code === 'EADDRINUSE' || e.code === 'EACCES') break;
      }
    }
    if (lastErr && !lastErr.syscall) {
      lastErr.syscall = 'listen';
      lastErr.address = p.path ?? p.host;
      if (p.path === undefined) lastErr.port = p.port;
    }
    process.nextTick(() => this.emit('error', lastErr));
  }

  // The options Node reads per connection or request, as the engine takes them.
  _liveOptions() {
    const o = this._live;
    return {
      keepAliveTimeout: o.keepAliveTimeout,
      keepAliveTimeoutBuffer: o.keepAliveTimeoutBuffer,
      headersTimeout: o.headersTimeout,
      requestTimeout: o.requestTimeout,
      timeout: o.timeout,
      // Node keeps every header in rawHeaders and applies maxHeadersCount to `headers`
      // only (incoming.js): the engine must not drop any.
      maxHeadersCount: 0,
      maxRequestsPerSocket: o.maxRequestsPerSocket || 0,
    };
  }

  address() {
    if (!this.listening) return null;
    return typeof this._address === 'string' ? this._address : { ...this._address };
  }

  close(cb) {
    this._lookup = false; // a listen() still looking its host up will not bind
    if (typeof cb === 'function') {
      if (this._h === null) {
        this.once('close', () => {
          const e = new Error('Server is not running.');
          e.code = 'ERR_SERVER_NOT_RUNNING';
          cb(e);
        });
      } else {
        this.once('close', cb);
      }
    }
    if (this._h !== null) {
      // As Node's httpServerPreClose (frameworks count on close() calling it).
      this.closeIdleConnections();
      this.listening = false;
      this._handle = null;
      // A closing handle keeps the loop alive until its close completes, unref'd or not
      // (libuv's uv_close): otherwise 'close' of an unref'd server never comes.
      if (this._unref) native.setRef(this._h, true);
      native.close(this._h);
    } else {
      process.nextTick(() => this.emit('close'));
    }
    return this;
  }

  _closed() {
    this._h = null;
    this._handle = null;
    this.listening = false;
    if (this._unixPath !== null) {
      try {
        fs.unlinkSync(this._unixPath);
      } catch (_) {
        // already gone
      }
      this._unixPath = null;
    }
    for (const s of this._sockets.values()) s._onClose();
    this._sockets.clear();
    for (const s of this._raw.values()) s._onClose();
    this._raw.clear();
    process.nextTick(() => this.emit('close'));
  }

  closeIdleConnections() {
    if (this._h !== null) native.closeIdle(this._h);
  }

  closeAllConnections() {
    if (this._h !== null) native.closeAll(this._h);
  }

  setTimeout(msecs, cb) {
    this.timeout = msecs;
    if (typeof cb === 'function') this.on('timeout', cb);
    return this;
  }

  // The engine's counters for this server (ringhttp only; Node has no equivalent):
  // connections open and accepted, requests, responses by class, client errors and
  // timeouts by kind, bytes in/out, and the backend.
  stats() {
    if (this._stats === undefined) return null;
    const v = native.stats(this._stats);
    let at = 3;
    const pick = (names) => Object.fromEntries(names.map((n) => [n, v[at++]]));
    return {
      backend: this.backend,
      openConnections: v[0],
      accepted: v[1],
      requests: v[2],
      responses: pick(['1xx', '2xx', '3xx', '4xx', '5xx']),
      clientErrors: pick(['badRequest', 'tooLarge', 'uriTooLong', 'headersTooLarge', 'notImplemented', 'version']),
      timeouts: pick(['headers', 'request', 'keepAlive', 'inactivity', 'linger']),
      bytesIn: v[at],
      bytesOut: v[at + 1],
    };
  }

  getConnections(cb) {
    const n = this._h === null ? 0 : native.connections(this._h);
    process.nextTick(cb, null, n);
    return this;
  }

  ref() {
    this._unref = false;
    if (this._h !== null) native.setRef(this._h, true);
    return this;
  }

  unref() {
    this._unref = true;
    if (this._h !== null) native.setRef(this._h, false);
    return this;
  }

  _socketFor(fd) {
    let s = this._sockets.get(fd);
    if (s === undefined) {
      s = new Socket(this, fd);
      this._sockets.set(fd, s);
    }
    return s;
  }

  [Symbol.asyncDispose]() {
    return new Promise((resolve) => this.close(() => resolve()));
  }
}

// Node reads these per connection or request: a change after listen() goes to the shard.
for (const name of ['timeout', 'keepAliveTimeout', 'keepAliveTimeoutBuffer', 'headersTimeout', 'requestTimeout', 'maxHeadersCount', 'maxRequestsPerSocket']) {
  Object.defineProperty(Server.prototype, name, {
    get() { return this._live[name]; },
    set(v) {
      if (this._live[name] === v) return;
      this._live[name] = v;
      if (this._h !== null) native.setOptions(this._h, this._liveOptions());
    },
    configurable: true,
    enumerable: true,
  });
}

// Node emits 'listening' on the next tick, and only if the server was not closed meanwhile.
function emitListening(server, h) {
  if (server.listening && server._h === h) server.emit('listening');
}

// What `server._handle` is while listening (Node's TCP handle): supertest and others only
// test it for presence; ref/unref/close act on the server.
class ListenHandle {
  constructor(server, h) {
    this._server = server;
    this._h = h;
    this.fd = -1;
  }

  ref() { this._server.ref(); }
  unref() { this._server.unref(); }
  close(cb) { this._server.close(cb); }
  getsockname(out) {
    const a = this._server.address();
    if (a !== null && typeof a === 'object') Object.assign(out, a);
    return 0;
  }
}

function createServer(options, requestListener) {
  return new Server(options, requestListener);
}

module.exports = { Server, createServer };
