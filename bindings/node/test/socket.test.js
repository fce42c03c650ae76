'use strict';
// What the request's socket does beyond reading addresses: its inactivity timeout around
// keep-alive idle periods, and raw bytes written to it. Same suite against Node's http
// with RINGHTTP_IMPL=node.
const test = require('node:test');
const assert = require('node:assert');
const net = require('net');
const { http, listen, close } = require('./helpers');

// A client on one connection: send(), then wait for some text or for the close.
function client(port) {
  const sock = net.connect(port, '127.0.0.1');
  sock.setEncoding('latin1');
  const c = { sock, text: '', closedAt: 0, ended: false };
  const waiters = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].ok()) waiters.splice(i, 1)[0].resolve();
    }
  };
  sock.on('data', (d) => { c.text += d; check(); });
  sock.on('end', () => { c.ended = true; check(); });
  sock.on('close', () => { c.closedAt = Date.now(); check(); });
  sock.on('error', () => {});
  c.until = (ok, ms = 3000) => new Promise((resolve, reject) => {
    if (ok()) return resolve();
    const t = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(c.text)}`)), ms);
    waiters.push({ ok, resolve: () => { clearTimeout(t); resolve(); } });
  });
  c.closed = (ms) => c.until(() => c.closedAt !== 0, ms);
  return c;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('server.timeout does not reach an idle keep-alive connection; the next request brings it back', async (t) => {
  const events = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/hold') return; // never answered: server.timeout destroys the socket
    res.end('ok');
  });
  server.timeout = 300;
  server.keepAliveTimeout = 2000;
  server.on('connection', (s) => s.on('timeout', () => events.push('timeout')));
  const port = await listen(server);
  t.after(() => close(server));
  const c = client(port);
  c.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await c.until(() => c.text.endsWith('\r\n\r\nok'));
  // Node: keepAliveTimeout + 1 s replaces server.timeout while idle.
  await sleep(700);
  assert.deepStrictEqual(events, []);
  assert.strictEqual(c.closedAt, 0, 'the idle connection stays');
  const sent = Date.now();
  c.sock.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
  await c.closed();
  const ms = c.closedAt - sent;
  assert.deepStrictEqual(events, ['timeout']);
  assert.ok(ms >= 250 && ms < 1500, `closed ${ms} ms after the second request`);
});

// Raw bytes on the request's socket (a hijacked Fastify reply writing its own HTTP): on
// Node they go straight to the wire; ringhttp hands the connection over to the socket.
for (const when of ['at once', 'a tick later']) {
  test(`req.socket.write()/end() ${when}: raw bytes out, FIN, the response abandoned (close, no finish)`, async (t) => {
    const events = [];
    let resClosed;
    const closed = new Promise((r) => { resClosed = r; });
    const server = http.createServer((req, res) => {
      if (req.url !== '/raw') return res.end('first');
      res.on('finish', () => events.push('finish'));
      res.on('close', () => { events.push('close'); resClosed(); });
      const go = () => {
        assert.strictEqual(req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'), true);
        req.socket.write(Buffer.from('hel'));
        req.socket.end('lo', () => events.push('end cb'));
      };
      if (when === 'at once') go();
      else setImmediate(go);
    });
    const port = await listen(server);
    t.after(() => close(server));
    const c = client(port);
    c.sock.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.until(() => c.text.endsWith('\r\n\r\nfirst'));
    c.text = '';
    c.sock.write('GET /raw HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.until(() => c.ended);
    assert.strictEqual(c.text, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    c.sock.end();
    await closed;
    assert.deepStrictEqual(events, ['end cb', 'close']);
  });
}

test('res.end() then req.socket.end(): the response goes out, then FIN', async (t) => {
  const server = http.createServer((req, res) => {
    res.end('bye');
    req.socket.end();
  });
  const port = await listen(server);
  t.after(() => close(server));
  const c = client(port);
  c.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await c.until(() => c.ended);
  assert.match(c.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(c.text, /\r\nContent-Length: 3\r\n/);
  assert.ok(c.text.endsWith('\r\n\r\nbye'), c.text);
});
