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
