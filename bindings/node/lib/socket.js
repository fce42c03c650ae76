'use strict';
// What `req.socket`, 'connection', 'timeout' and 'clientError' see of a connection: a
// light net.Socket look-alike. The engine owns the real socket; this object reads its
// addresses on demand and can destroy it. During 'clientError', write()/end() collect
// the bytes the engine will send before closing.
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
    if (typeof encoding === 'function') cb = encoding;
    if (this._capture !== null && data != null) {
      this._capture.push(typeof data === 'string' ? Buffer.from(data, typeof encoding === 'string' ? encoding : 'latin1') : Buffer.from(data));
    }
    if (typeof cb === 'function') process.nextTick(cb);
    return true;
  }

  end(data, encoding, cb) {
    if (typeof data === 'function') { cb = data; data = undefined; }
    if (data !== undefined) this.write(data, encoding);
    if (this._capture === null) this.destroy();
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

  _onClose() {
    this._fd = -1;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    this.emit('end');
    this.emit('close', false);
  }
}

defineAddressGetters(Socket.prototype);

module.exports = { Socket };
