'use strict';
// The net.Socket address and timeout getters shared by the request socket (socket.js) and
// the raw upgrade/CONNECT socket (rawsocket.js): both keep `_address()` (a cached
// [remoteAddress, remotePort, remoteFamily, localAddress, localPort]) and `_timeoutMs`.

function defineAddressGetters(proto) {
  const fields = ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort'];
  fields.forEach((name, i) => {
    Object.defineProperty(proto, name, {
      get() { return this._address()[i]; },
      configurable: true,
    });
  });
  Object.defineProperty(proto, 'timeout', {
    get() { return this._timeoutMs || undefined; },
    configurable: true,
  });
}

module.exports = { defineAddressGetters };
