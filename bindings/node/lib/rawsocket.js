'use strict';
// The socket 'upgrade' and 'connect' listeners get: a stream.Duplex over the engine's raw
// connection (the bytes after the request head, both ways), shaped like a net.Socket
// (write/end/destroy, 'data'/'end'/'close', pause/resume, addresses, no-op setTimeout &
// co.). Enough for e.g. `ws`'s `handleUpgrade`.
const { Duplex } = require('stream');
const native = require('./native');
const { defineAddressGetters } = require('./address');

class RawSocket extends Duplex {
  constructor(server, id, fd) {
    // Like net.Socket: a peer's FIN ends our side too. 'close' comes from the engine
    // (autoDestroy would cut off bytes still queued after end()).
    super({ allowHalfOpen: false, autoDestroy: false, emitClose: true, decodeStrings: false });
    this.server = server;
    this._id = id;
    this._fd = fd;
    this._addr = null;
    this._gone = false; // the engine closed the connection
    this._paused = false;
    this._drainCb = null;
    this._timeoutMs = 0;
    this.bytesWritten = 0;
    this.bytesRead = 0;
    this.connecting = false;
    this.encrypted = undefined;
  }

  _address() {
    if (this._addr === null) this._addr = this._fd >= 0 && !this._gone ? native.fdAddress(this._fd) : [];
    return this._addr;
  }

  get readyState() {
    if (this._gone || this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    return this.readable ? 'readOnly' : 'writeOnly';
  }

  address() {
    const a = this._address();
    if (a[3] === undefined) return {};
    return { address: a[3], family: a[3].includes(':') ? 'IPv6' : 'IPv4', port: a[4] };
  }

  _read() {
    if (this._paused && !this._gone && this.server._h !== null) {
      this._paused = false;
      native.sockPause(this.server._h, this._id, false);
    }
  }

  _write(chunk, encoding, cb) {
    if (this._gone || this.server._h === null) {
      cb(Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' }));
      return;
    }
    if (typeof chunk === 'string') chunk = Buffer.from(chunk, encoding);
    this.bytesWritten += chunk.length;
    if (native.sockWrite(this.server._h, this._id, chunk)) cb();
    else this._drainCb = cb;
  }

  _final(cb) {
    if (!this._gone && this.server._h !== null) native.sockEnd(this.server._h, this._id);
    cb();
  }

  _destroy(err, cb) {
    if (!this._gone && this.server._h !== null) native.sockDestroy(this.server._h, this._id);
    cb(err);
  }

  // Engine events (dispatched by the server).
  _onData(buf) {
    this.bytesRead += buf.length;
    if (!this.push(buf) && !this._paused && !this._gone) {
      this._paused = true;
      native.sockPause(this.server._h, this._id, true);
    }
  }

  _onEnd() {
    this.push(null);
  }

  _onDrain() {
    const cb = this._drainCb;
    this._drainCb = null;
    if (cb) cb();
  }

  _onClose() {
    this._gone = true;
    const cb = this._drainCb;
    this._drainCb = null;
    if (cb) cb();
    if (!this.readableEnded) this.push(null);
    if (!this.destroyed) this.destroy();
  }

  setTimeout(ms, cb) {
    this._timeoutMs = ms;
    if (typeof cb === 'function') this.once('timeout', cb);
    return this;
  }
  setNoDelay() { return this; }
  setKeepAlive() { return this; }
  ref() { return this; }
  unref() { return this; }
  destroySoon() {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }
  resetAndDestroy() { return this.destroy(); }
}

defineAddressGetters(RawSocket.prototype);

module.exports = { RawSocket };
