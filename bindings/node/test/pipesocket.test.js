'use strict';
// Pipelined responses get the socket in turn, as in Node: `res.socket` is null while an
// earlier response on the connection is unfinished, and 'socket' is emitted when it is
// this one's turn (on-finished & co. rely on it; no listener pile-up on the socket).
const test = require('node:test');
const assert = require('assert');
const { http, IMPL, listen, close, raw } = require('./helpers');

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
  const events = [];
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
    res.on('finish', () => events.push(`finish ${req.url}`));
    res.on('close', () => events.push(`close ${req.url}`));
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
    // Each response: one 'finish', in request order, and one 'close' after it.
    assert.deepStrictEqual(events.filter((e) => e.startsWith('finish')),
      Array.from({ length: n }, (_, i) => `finish /${i}`));
    for (let i = 0; i < n; i++) {
      assert.ok(events.indexOf(`close /${i}`) > events.indexOf(`finish /${i}`), `close /${i} after its finish`);
    }
    assert.strictEqual(events.length, 2 * n);
  } finally {
    process.removeListener('warning', onWarning);
    await close(server);
  }
});

// A full batch of requests (256) is followed by the nextTick queue and microtasks before
// the next batch reaches JS: a promise-based handler's responses to the first requests of
// a turn are ended before the later ones come in (their objects need not all be alive at
// once). 8 connections x 64 pipelined requests (the engine parses up to 64 ahead per
// connection) are written in one tick. Node ends none before it parsed a read, so only
// ringhttp's order is asserted.
test('a turn of 512 requests: promise-based responses of a full batch end before the next batch', async () => {
  const conns = 8;
  const per = 64;
  let ended = 0;
  let endedAtLast = -1;
  let got = 0;
  const server = http.createServer((req, res) => {
    if (++got === conns * per) endedAtLast = ended;
    Promise.resolve().then(() => {
      ended++;
      res.end('x');
    });
  });
  const port = await listen(server);
  const net = require('net');
  const socks = await Promise.all(Array.from({ length: conns }, () => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  })));
  try {
    const reqs = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(per);
    const done = socks.map((s) => new Promise((resolve) => {
      let out = '';
      s.on('data', (d) => {
        out += d.toString('latin1');
        if ((out.match(/HTTP\/1\.1 200/g) || []).length === per) resolve();
      });
    }));
    for (const s of socks) s.write(reqs);
    await Promise.all(done);
    if (process.env.SHOW) console.log('endedAtLast', endedAtLast);
    if (IMPL !== 'node') assert.ok(endedAtLast >= 256, `${endedAtLast} responses ended when the last request came`);
  } finally {
    for (const s of socks) s.destroy();
    await close(server);
  }
});
