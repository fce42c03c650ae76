'use strict';
// Shared by the suites. RINGHTTP_IMPL=node runs them against Node's own http (the oracle).
const net = require('net');

const IMPL = process.env.RINGHTTP_IMPL || 'ringhttp';
const http = IMPL === 'node' ? require('http') : require('..');

function listen(server, ...args) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...(args.length ? args : [0, '127.0.0.1']), () => {
      server.removeListener('error', reject);
      resolve(server.address().port);
    });
  });
}

function close(server) {
  return new Promise((resolve) => {
    if (server.closeAllConnections) server.closeAllConnections();
    server.close(() => resolve());
  });
}

// Sends raw bytes (a string, or an array of strings sent with small pauses) and collects
// the reply until the peer closes, `opts.until(text)` is true, or `opts.timeout` ms pass.
function raw(target, data, opts = {}) {
  return new Promise((resolve, reject) => {
    const sock = typeof target === 'string' ? net.connect(target) : net.connect(target, '127.0.0.1');
    let out = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      resolve(out);
    };
    const t = setTimeout(finish, opts.timeout || 3000);
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      out += d;
      if (opts.onData) opts.onData(out, sock);
      if (opts.until && opts.until(out)) finish();
    });
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (e) => (out ? finish() : reject(e)));
    sock.on('connect', async () => {
      const parts = Array.isArray(data) ? data : [data];
      for (const p of parts) {
        if (sock.destroyed) return;
        sock.write(p);
        if (parts.length > 1) await new Promise((r) => setTimeout(r, opts.gap || 30));
      }
    });
  });
}

const maskDate = (s) => s.replace(/\r\nDate: [^\r]*\r\n/g, '\r\nDate: X\r\n');

// Number of complete responses in a text (counts status lines).
const statusLines = (s) => (s.match(/HTTP\/1\.1 \d{3} [^\r]*\r\n/g) || []);

module.exports = { http, IMPL, listen, close, raw, maskDate, statusLines };
