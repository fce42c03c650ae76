'use strict';
// Pipelined responses get the socket in turn, as in Node: `res.socket` is null while an
// earlier response on the connection is unfinished, and 'socket' is emitted when it is
// this one's turn (on-finished & co. rely on it; no listener pile-up on the socket).
const test = require('node:test');
const assert = require('assert');
const { http, listen, close, raw } = require('./helpers');

test('pipelined responses: res.socket null until their turn, then a socket event', async () => {
  const seen = [];
  const server = http.createServer((req, res) => {
    const rec = { url: req.url, atStart: res.socket !== null, event: false };
    seen.push(rec);
    res.on('socket', (s) => {
      rec.event = true;
      assert.strictEqual(s, res.socket);
    });
    Promise.resolve().then(() => res.end(req.url));
  });
  const port = await listen(server);
  try {
    const urls = ['/a', '/b', '/c', '/d'];
    const out = await raw(port, urls.map((u) => `GET ${u} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''),
      { until: (s) => s.endsWith('/d') });
    assert.match(out, /\/a[^]*\/b[^]*\/c[^]*\/d$/);
    assert.deepStrictEqual(seen.map((r) => [r.url, r.atStart, r.event]),
      [['/a', true, false], ['/b', false, true], ['/c', false, true], ['/d', false, true]]);
  } finally {
    await close(server);
  }
});

// on-finished's pattern (Koa, Express's finalhandler, morgan): listeners on res.socket
// from the moment it is this response's, removed at 'finish'. As in Node, the socket goes
// to the next response at the current one's 'finish', so with 16 responses ended before
// any was sent at most two responses' listeners are on the socket at once (Node's
// 10-listener warning never fires).
test('pipelined responses with finish listeners: no listener pile-up on the socket', async () => {
  let live = 0;
  let most = 0;
  const warnings = [];
  const onWarning = (w) => warnings.push(w.name);
  process.on('warning', onWarning);
  const server = http.createServer((req, res) => {
    const attach = (socket) => {
      const onClose = () => {};
      socket.on('close', onClose);
      socket.on('error', onClose);
      most = Math.max(most, ++live);
      res.once('finish', () => {
        socket.removeListener('close', onClose);
        socket.removeListener('error', onClose);
        live--;
      });
    };
    if (res.socket) attach(res.socket);
    else res.once('socket', attach);
    Promise.resolve().then(() => res.end(req.url));
  });
  const port = await listen(server);
  try {
    const n = 16;
    const reqs = Array.from({ length: n }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
    const out = await raw(port, reqs, { until: (s) => s.endsWith(`/${n - 1}`) });
    assert.strictEqual(out.match(/HTTP\/1\.1 200/g).length, n);
    await new Promise((r) => setImmediate(r));
    assert.ok(most <= 2, `${most} responses had listeners on the socket at once`);
    assert.deepStrictEqual(warnings, []);
  } finally {
    process.removeListener('warning', onWarning);
    await close(server);
  }
});
