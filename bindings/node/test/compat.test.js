'use strict';
// Node behaviour that frameworks and middleware rely on beyond the documented API
// (synchronous listen, _handle, the writeHead hook point, options changed after listen,
// client aborts, trailers). Same suite against Node's http with RINGHTTP_IMPL=node.
const test = require('node:test');
const assert = require('node:assert');
const { http, listen, close, raw } = require('./helpers');

const get = (port, path, headers = '') => raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);

test('listen(0) binds at once; listening on the next tick; _handle while listening', async () => {
  const server = http.createServer((req, res) => res.end('ok'));
  let listened = false;
  server.on('listening', () => { listened = true; });
  assert.strictEqual(server._handle, null);
  server.listen(0);
  assert.ok(server.address().port > 0);
  assert.ok(server._handle);
  assert.strictEqual(listened, false);
  await new Promise((r) => process.nextTick(r));
  assert.strictEqual(listened, true);
  assert.match(await get(server.address().port, '/'), /\r\n\r\nok$/);
  await close(server);
  assert.strictEqual(server._handle, null);
  assert.strictEqual(server.address(), null);
  // Closed before the tick: no 'listening'.
  const s2 = http.createServer();
  s2.on('listening', () => assert.fail('listening after close'));
  s2.listen(0);
  await close(s2);
});

test('a wrapped writeHead is the hook point of the implicit header (on-headers)', async () => {
  const server = http.createServer((req, res) => {
    assert.strictEqual(typeof res._implicitHeader, 'function');
    assert.ok(!res._header);
    const orig = res.writeHead;
    res.writeHead = function (...args) {
      this.setHeader('X-Hooked', String(this.statusCode));
      return orig.apply(this, args);
    };
    res.statusCode = 201;
    if (req.url === '/write') {
      res.write('a');
      assert.ok(res.headersSent);
      assert.match(res._header, /^HTTP\/1\.1 201 Created\r\n/);
      res.end('b');
    } else {
      res.end('ab');
    }
  });
  const port = await listen(server);
  for (const path of ['/end', '/write']) {
    const out = await get(port, path);
    assert.match(out, /^HTTP\/1\.1 201 Created\r\n/);
    assert.match(out, /\r\nX-Hooked: 201\r\n/i);
  }
  await close(server);
});

test('options set after listen() apply to the next connection', async () => {
  const server = http.createServer((req, res) => res.end(`${req.rawHeaders.length / 2}/${Object.keys(req.headers).length}`));
  const port = await listen(server);
  server.keepAliveTimeout = 7000;
  server.maxHeadersCount = 5;
  const many = Array.from({ length: 20 }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
  const out = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`, { until: (s) => /\r\n\r\n[\d/]+$/.test(s) });
  // maxHeadersCount limits `headers`, not rawHeaders (Node's rule).
  assert.match(out, /\r\nKeep-Alive: timeout=7\r\n/);
  assert.match(out, /\r\n\r\n21\/5$/);
  server.maxRequestsPerSocket = 3;
  const out2 = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { until: (s) => /\r\n\r\n[\d/]+$/.test(s) });
  assert.match(out2, /\r\nKeep-Alive: timeout=7, max=3\r\n/);
  await close(server);
});

test('a client that goes away before the response: aborted, close without finish', async () => {
  let seen;
  const done = new Promise((r) => { seen = r; });
  const server = http.createServer((req, res) => {
    const ev = [];
    req.on('aborted', () => ev.push('req aborted'));
    res.on('finish', () => ev.push('res finish'));
    res.on('close', () => {
      ev.push('res close');
      setTimeout(() => seen({ ev, aborted: req.aborted, ended: res.writableEnded, finished: res.writableFinished }), 20);
    });
  });
  const port = await listen(server);
  await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { timeout: 100 });
  const r = await Promise.race([done, new Promise((t) => setTimeout(() => t('no close'), 2000))]);
  assert.deepStrictEqual(r, { ev: ['req aborted', 'res close'], aborted: true, ended: false, finished: false });
  await close(server);
});

test('socket.destroy(err) emits error on the socket', async () => {
  let result;
  const done = new Promise((r) => { result = r; });
  const server = http.createServer((req, res) => {
    const sock = req.socket;
    sock.on('error', (e) => result(e.message));
    sock.destroy(new Error('bad client'));
  });
  const port = await listen(server);
  await get(port, '/');
  assert.strictEqual(await done, 'bad client');
  await close(server);
});

test('trailers after writeHead() + end(data) go out chunked', async () => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { Trailer: 'X-T' });
    res.addTrailers({ 'X-T': 'v' });
    res.end('data');
  });
  const port = await listen(server);
  const out = await get(port, '/');
  assert.match(out, /\r\nTransfer-Encoding: chunked\r\n/);
  assert.match(out, /\r\n\r\n4\r\ndata\r\n0\r\nX-T: v\r\n\r\n$/);
  await close(server);
});

test('res state flags and Node error codes', async () => {
  const checks = [];
  const server = http.createServer((req, res) => {
    checks.push([res.writableEnded, res.writableFinished, typeof res.strictContentLength, req.complete]);
    res.on('finish', () => {
      checks.push([res.writableEnded, res.writableFinished]);
    });
    assert.throws(() => res.getHeader(1), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => res.setHeader('a b', 'c'), { code: 'ERR_INVALID_HTTP_TOKEN' });
    assert.throws(() => res.setHeader('a', undefined), { code: 'ERR_HTTP_INVALID_HEADER_VALUE' });
    res.end('x');
    checks.push([res.writableEnded]);
    assert.throws(() => res.setHeader('a', 'b'), { code: 'ERR_HTTP_HEADERS_SENT' });
  });
  const port = await listen(server);
  await get(port, '/');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepStrictEqual(checks, [[false, false, 'boolean', false], [true], [true, true]]);
  await close(server);
});

test('req.socket.setTimeout() is enforced: timeout, then the connection is destroyed', async () => {
  let seen;
  const done = new Promise((r) => { seen = r; });
  const server = http.createServer((req, res) => {
    const t0 = Date.now();
    let timedOut = false;
    req.socket.setTimeout(150);
    req.socket.on('timeout', () => { timedOut = true; req.socket.destroy(); });
    res.on('close', () => seen({ timedOut, ms: Date.now() - t0 }));
  });
  const port = await listen(server);
  const out = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { timeout: 3000 });
  assert.strictEqual(out, '');
  const r = await done;
  assert.strictEqual(r.timedOut, true);
  assert.ok(r.ms >= 100 && r.ms < 1500, `closed after ${r.ms} ms`);
  await close(server);
});

test('writeEarlyHints sends 103 with the links before the response; writeProcessing 102', async () => {
  const server = http.createServer((req, res) => {
    assert.throws(() => res.writeEarlyHints({ link: 'not a link' }), { code: 'ERR_INVALID_ARG_VALUE' });
    res.writeEarlyHints({ link: ['</a.css>; rel=preload; as=style', '</b.js>; rel=preload; as=script'], 'x-hint': 'y' });
    res.writeProcessing();
    res.end('done');
  });
  const port = await listen(server);
  const out = await get(port, '/');
  assert.ok(out.startsWith('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script\r\nx-hint: y\r\n\r\n' +
    'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\n'), out);
  assert.match(out, /\r\n\r\ndone$/);
  await close(server);
});

test('listen(port, hostname) looks the name up first, as Node: address() once listening', async () => {
  const server = http.createServer((req, res) => res.end('ok'));
  server.listen(0, 'localhost');
  assert.strictEqual(server.address(), null);
  await new Promise((r) => server.once('listening', r));
  const a = server.address();
  assert.ok(a.address === '127.0.0.1' || a.address === '::1', a.address);
  assert.ok(a.port > 0);
  await close(server);
});

for (const host of ['127.0.0.1', '::1']) {
  test(`req.socket addresses on ${host}: remote/local address, port and family`, async (t) => {
    const server = http.createServer((req, res) => {
      const s = req.socket;
      res.end(JSON.stringify([s.remoteAddress, s.remotePort, s.remoteFamily, s.localAddress, s.localPort]));
    });
    try {
      await listen(server, 0, host);
    } catch (e) {
      return t.skip(`no ${host} here (${e.code})`);
    }
    const port = server.address().port;
    const net = require('net');
    const c = net.connect(port, host);
    await new Promise((r) => c.on('connect', r));
    const clientPort = c.localPort;
    let out = '';
    c.setEncoding('latin1');
    c.on('data', (d) => { out += d; });
    c.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await new Promise((r) => c.on('close', r));
    const family = host.includes(':') ? 'IPv6' : 'IPv4';
    assert.deepStrictEqual(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)), [host, clientPort, family, host, port]);
    await close(server);
  });
}

// Reads responses off one keep-alive socket: `next(n)` resolves with the text once n
// status lines have arrived in total; `closed` when the server ends the socket.
function keepAliveClient(port) {
  const net = require('net');
  const sock = net.connect(port, '127.0.0.1');
  sock.setEncoding('latin1');
  let out = '';
  let waiter = null;
  const count = () => (out.match(/HTTP\/1\.1 \d{3} /g) || []).length;
  const check = () => { if (waiter && count() >= waiter.n) { const w = waiter; waiter = null; w.resolve(out.replace(/\r\nDate: [^\r]*/g, '')); } };
  sock.on('data', (d) => { out += d; check(); });
  const closed = new Promise((r) => sock.on('close', r));
  const next = (n) => new Promise((resolve) => { waiter = { n, resolve }; check(); });
  return { sock, next, closed };
}

const GET = (path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

test('close() with a request in flight: that connection stays keep-alive, later requests reach the handler', async () => {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url);
    if (req.url === '/slow') {
      server.close();
      setTimeout(() => res.end('slow'), 100);
    } else {
      res.end(`ok ${req.url}`);
    }
  });
  server.keepAliveTimeout = 300;
  let closedAt = 0;
  server.on('close', () => { closedAt = Date.now(); });
  const port = await listen(server);
  const c = keepAliveClient(port);
  // /slow, with /pipe pipelined behind it; both are answered keep-alive, as Node 20.
  c.sock.write(GET('/slow') + GET('/pipe'));
  let out = await c.next(2);
  assert.strictEqual(out,
    'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=0\r\nContent-Length: 4\r\n\r\nslow' +
    'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=0\r\nContent-Length: 8\r\n\r\nok /pipe');
  assert.strictEqual(server.listening, false);
  assert.strictEqual(closedAt, 0, "no 'close' while a connection is open");
  // A later request on the same socket is served too.
  c.sock.write(GET('/later'));
  out = await c.next(3);
  assert.match(out, /Connection: keep-alive\r\nKeep-Alive: timeout=0\r\nContent-Length: 9\r\n\r\nok \/later$/);
  assert.deepStrictEqual(seen, ['/slow', '/pipe', '/later']);
  // Idle, it goes 1 s (keepAliveTimeoutBuffer) after keepAliveTimeout; then 'close'.
  const t0 = Date.now();
  await c.closed;
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(closedAt >= t0, "'close' after the last connection");
});

test('maxRequestsPerSocket: the last response says close, the socket stays, later requests get 503', async () => {
  const seen = [];
  const server = http.createServer((req, res) => { seen.push(req.url); res.end(`ok ${req.url}`); });
  server.maxRequestsPerSocket = 2;
  server.keepAliveTimeout = 300;
  const port = await listen(server);
  const c = keepAliveClient(port);
  c.sock.write(GET('/1'));
  await c.next(1);
  c.sock.write(GET('/2'));
  let out = await c.next(2);
  assert.match(out, /\r\nConnection: close\r\nContent-Length: 5\r\n\r\nok \/2$/);
  // Sent after that `Connection: close` arrived: Node still reads it and answers 503.
  c.sock.write(GET('/3'));
  out = await c.next(3);
  const n503 = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
  assert.ok(out.endsWith('ok /2' + n503), out);
  // Pipelined: the same, in order; the socket is still open after them.
  const p = keepAliveClient(port);
  p.sock.write(GET('/a') + GET('/b') + GET('/c') + GET('/d'));
  out = await p.next(4);
  assert.ok(out.endsWith('ok /b' + n503 + n503), out);
  assert.ok(!p.sock.destroyed);
  assert.deepStrictEqual(seen, ['/1', '/2', '/a', '/b']);
  c.sock.destroy();
  p.sock.destroy();
  await close(server);
});

test("'dropRequest': each request over maxRequestsPerSocket, with its socket, before its 503", async () => {
  const seen = [];
  const dropped = [];
  const server = http.createServer((req, res) => { seen.push(req.url); res.end(`ok ${req.url}`); });
  server.maxRequestsPerSocket = 1;
  server.on('dropRequest', (req, socket) => {
    dropped.push([req.url, req.method, req.headers.host, req.httpVersion, socket === req.socket,
      typeof socket.remoteAddress, socket.destroyed]);
  });
  const port = await listen(server);
  const c = keepAliveClient(port);
  c.sock.write(GET('/1') + GET('/2') + 'HEAD /3 HTTP/1.1\r\nHost: three\r\n\r\n');
  const out = await c.next(3);
  assert.strictEqual(out.match(/HTTP\/1\.1 503 Service Unavailable\r\n/g).length, 2, out);
  assert.deepStrictEqual(seen, ['/1']);
  assert.deepStrictEqual(dropped, [
    ['/2', 'GET', 'x', '1.1', true, 'string', false],
    ['/3', 'HEAD', 'three', '1.1', true, 'string', false],
  ]);
  c.sock.destroy();
  await close(server);
});
