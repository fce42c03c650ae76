'use strict';
// What `req.socket`, 'connection', 'timeout' and 'clientError' see of a connection: a
// light net.Socket look-alike. The engine owns the real socket; this object reads its
// addresses on demand and can destroy it. During 'clientError', write()/end() collect
// the bytes the engine will send before closing. Elsewhere the first write()/end() while
// a request or response of the connection is live takes the connection over (the
// engine's take_over_socket): from then on it is a raw byte stream, as after 'upgrade'
// (bytes out verbatim, 'data'/'end' in, end() sends FIN; see the README).
const EE = require('events');
const native = require('./native');
const { defineAddressGetters } = require('./address');

class Socket extends EE {
  constructor(server, fd) {
    super();
    this.server = server;
    this._fd = fd;
    this._addr = null;
    this._capture = null;
    this._timeoutMs = 0;
    this.destroyed = false;
    this.readable = true;
    this.writable = true;
    this.encrypted = undefined;
    this.bytesWritten = 0;
    // The response that has this socket (`res.socket`) and those waiting for it.
    this._cur = null;
    this._waiting = null;
    // The request that last handed this socket out (`req.socket`).
    this._req = null;
    // The raw socket's id once taken over (0: not taken).
    this._raw = 0;
    this._drainCbs = null;
    this._closed = false;
    this._ended = false;
    this.bytesRead = 0;
  }

  // A live request/response of this connection (their handle), through which the engine
  // hands the connection over; 0 when none is left (an idle keep-alive connection).
  _liveHandle() {
    const c = this._cur;
    if (c !== null && c._h !== 0) return c._h;
    const r = this._req;
    if (r !== null && r._h !== 0) return r._h;
    return 0;
  }

  _takeOver() {
    if (this._raw !== 0) return true;
    if (this._capture !== null || this.destroyed || this.server._h === null) return false;
    // A response's pending write()s go out before the socket is handed over.
    if (this._cur !== null && this._cur._pw !== null) this._cur._flushWrites();
    const h = this._liveHandle();
    if (h === 0) return false;
    const id = native.sockTakeOver(this.server._h, h);
    if (id === 0) return false;
    this._raw = id;
    this.server._raw.set(id, this);
    return true;
  }

  _address() {
    if (this._addr === null) this._addr = this._fd >= 0 ? native.fdAddress(this._fd) : [];
    return this._addr;
  }


  address() {
    const a = this._address();
    if (a[3] === undefined) return {};
    return { address: a[3], family: a[3].includes(':') ? 'IPv6' : 'IPv4', port: a[4] };
  }

  write(data, encoding, cb) {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this._capture === null && data != null && this._takeOver()) {
      if (!this.writable || this.server._h === null) {
        const e = Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' });
        if (typeof cb === 'function') process.nextTick(cb, e);
        return false;
      }
      const buf = typeof data === 'string' ? Buffer.from(data, typeof encoding === 'string' ? encoding : 'utf8') : data;
      this.bytesWritten += buf.length;
      const ok = native.sockWrite(this.server._h, this._raw, buf);
      if (typeof cb === 'function') {
        if (ok) process.nextTick(cb);
        else (this._drainCbs || (this._drainCbs = [])).push(cb);
      }
      return ok;
    }
    if (this._capture !== null && data != null) {
      this._capture.push(typeof data === 'string' ? Buffer.from(data, typeof encoding === 'string' ? encoding : 'latin1') : Buffer.from(data));
    }
    if (typeof cb === 'function') process.nextTick(cb);
    return true;
  }

  end(data, encoding, cb) {
    if (typeof data === 'function') { cb = data; data = undefined; }
    if (typeof encoding === 'function') { cb = encoding; encoding = undefined; }
    if (this._capture === null && this._takeOver()) {
      if (data != null) this.write(data, encoding);
      if (this.writable && this.server._h !== null) native.sockEnd(this.server._h, this._raw);
      this.writable = false;
      if (typeof cb === 'function') process.nextTick(cb);
      return this;
    }
    if (data !== undefined) this.write(data, encoding);
    if (this._capture === null && !this.destroyed && this.writable) {
      // Nothing live to take over: what is under way goes out, then FIN (Node's end()).
      if (this._fd >= 0 && this.server._h !== null) native.connEnd(this.server._h, this._fd);
    }
    this.writable = false;
    if (typeof cb === 'function') process.nextTick(cb);
    return this;
  }

  destroy(err) {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (this._capture === null && this._fd >= 0 && this.server._h !== null) native.connDestroy(this.server._h, this._fd, 0);
    // Node's server keeps an 'error' listener on its sockets (socketOnError), so an error
    // given here never goes uncaught: emitted when someone listens, else dropped.
    if (err) process.nextTick(() => { if (this.listenerCount('error') > 0) this.emit('error', err); });
    return this;
  }

  destroySoon() { this.destroy(); }
  resetAndDestroy() { return this.destroy(); }
  setTimeout(ms, cb) {
    this._timeoutMs = ms;
    if (typeof cb === 'function') this.once('timeout', cb);
    if (this._fd >= 0 && this._capture === null && this.server._h !== null) {
      native.connTimeout(this.server._h, this._fd, ms);
    }
    return this;
  }

  // req/res.setTimeout: the engine already has the per-message timeout; only note it.
  _noteTimeout(ms) {
    this._timeoutMs = ms;
  }
  setNoDelay() { return this; }
  setKeepAlive() { return this; }
  setEncoding() { return this; }
  pause() { return this; }
  resume() { return this; }
  ref() { return this; }
  unref() { return this; }
  cork() {}
  uncork() {}

  // The raw stream's events (after a takeover; dispatched by the server like an
  // 'upgrade' socket's).
  _onData(buf) {
    this.bytesRead += buf.length;
    this.emit('data', buf);
  }

  _onEnd() {
    if (this._ended) return;
    this._ended = true;
    this.readable = false;
    this.emit('end');
  }

  _onDrain() {
    const cbs = this._drainCbs;
    this._drainCbs = null;
    if (cbs !== null) for (const cb of cbs) cb();
    this.emit('drain');
  }

  // The connection closed (the engine's connection-close, or the raw socket's close).
  _onClose() {
    if (this._closed) return;
    this._closed = true;
    this._fd = -1;
    this._req = null;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    const cbs = this._drainCbs;
    this._drainCbs = null;
    if (cbs !== null) for (const cb of cbs) cb();
    if (!this._ended) {
      this._ended = true;
      this.emit('end');
    }
    this.emit('close', false);
  }
}

defineAddressGetters(Socket.prototype);

module.exports = { Socket };
