'use strict';
// The server API and its events, identical for Node's http and ringhttp.
const test = require('node:test');
const assert = require('assert');
const net = require('net');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { http, IMPL, listen, close, raw, statusLines } = require('./helpers');

const once = (em, ev) => new Promise((r) => em.once(ev, (...a) => r(a)));

test('request properties, headers object and rawHeaders', async () => {
  let seen;
  const s = http.createServer((req, res) => {
    seen = {
      method: req.method, url: req.url, v: req.httpVersion, maj: req.httpVersionMajor, min: req.httpVersionMinor,
      headers: { ...req.headers }, raw: req.rawHeaders.slice(), complete: req.complete,
      remote: req.socket.remoteAddress, port: typeof req.socket.remotePort,
    };
    res.end();
  });
  const port = await listen(s);
  await raw(port, 'GET /a?b=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: u1\r\nUSER-AGENT: u2\r\nX-Many: 1\r\nx-many: 2\r\nCookie: a=1\r\n' +
    'cookie: b=2\r\nSet-Cookie: s=1\r\nset-cookie: s=2\r\nConnection: close\r\n\r\n');
  assert.deepStrictEqual(seen, {
    method: 'GET', url: '/a?b=1', v: '1.1', maj: 1, min: 1,
    headers: { host: 'h', 'user-agent': 'u1', 'x-many': '1, 2', cookie: 'a=1; b=2', 'set-cookie': ['s=1', 's=2'], connection: 'close' },
    raw: ['Host', 'h', 'User-Agent', 'u1', 'USER-AGENT', 'u2', 'X-Many', '1', 'x-many', '2', 'Cookie', 'a=1', 'cookie', 'b=2',
      'Set-Cookie', 's=1', 'set-cookie', 's=2', 'Connection', 'close'],
    complete: false, remote: '127.0.0.1', port: 'number',
  });
  await close(s);
});

// rawHeaders come from the head's bytes in JS (lib/incoming.js parseHead): values lose the
// optional whitespace around them only, keep inner colons and obs-text, may be empty; a
// custom method (kept before the head in the batch text) and pipelining do not shift them.
test('rawHeaders: whitespace, empty and obs-text values, after a custom method, pipelined', async () => {
  const seen = [];
  const s = http.createServer((req, res) => {
    seen.push([req.method, req.rawHeaders.slice(), req.headers['x-b']]);
    res.end();
  });
  const port = await listen(s);
  await raw(port, Buffer.from('PROPFIND /p HTTP/1.1\r\nHost: h\r\nX-B:   spaced  \t\r\nX-C:\r\nX-E: a:b: c\r\n\r\n' +
    'GET / HTTP/1.1\r\nHost: h2\r\nX-B:\tt\xe9st\r\nConnection: close\r\n\r\n', 'latin1'));
  assert.deepStrictEqual(seen, [
    ['PROPFIND', ['Host', 'h', 'X-B', 'spaced', 'X-C', '', 'X-E', 'a:b: c'], 'spaced'],
    ['GET', ['Host', 'h2', 'X-B', 't\xe9st', 'Connection', 'close'], 't\xe9st'],
  ]);
  await close(s);
});

test('headers read after end() and in a later tick', async () => {
  const got = [];
  let later;
  const laterRan = new Promise((r) => { later = r; });
  const s = http.createServer((req, res) => {
    res.end('x');
    got.push(req.headers['user-agent']);
    setImmediate(() => { got.push(req.rawHeaders[1]); got.push(req.headers.host); later(); });
  });
  const port = await listen(s);
  await raw(port, 'GET / HTTP/1.1\r\nHost: hh\r\nUser-Agent: ua\r\nConnection: close\r\n\r\n');
  await laterRan;
  assert.deepStrictEqual(got, ['ua', 'hh', 'hh']);
  await close(s);
});

test('response header API', async () => {
  let r;
  const s = http.createServer((req, res) => {
    res.setHeader('X-One', '1');
    res.setHeader('x-two', ['a', 'b']);
    r = {
      get: res.getHeader('X-ONE'), has: res.hasHeader('x-two'), names: res.getHeaderNames(),
      all: { ...res.getHeaders() }, sent: res.headersSent,
    };
    res.removeHeader('x-one');
    r.after = res.hasHeader('x-one');
    assert.throws(() => res.setHeader('bad name', 'x'), { code: 'ERR_INVALID_HTTP_TOKEN' });
    assert.throws(() => res.setHeader('x', 'a\nb'), { code: 'ERR_INVALID_CHAR' });
    res.writeHead(201);
    r.sentAfter = res.headersSent;
    assert.throws(() => res.setHeader('x', 'y'), { code: 'ERR_HTTP_HEADERS_SENT' });
    res.end();
    r.ended = res.writableEnded;
  });
  const port = await listen(s);
  const out = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(out, /^HTTP\/1\.1 201 Created\r\nx-two: a\r\nx-two: b\r\n/);
  assert.deepStrictEqual(r, {
    get: '1', has: true, names: ['x-one', 'x-two'], all: { 'x-one': '1', 'x-two': ['a', 'b'] },
    sent: false, after: false, sentAfter: true, ended: true,
  });
  await close(s);
});

test('events: listening, connection, request, finish, close', async () => {
  const events = [];
  const s = http.createServer();
  s.on('listening', () => events.push('listening'));
  s.on('connection', (sock) => events.push(`connection:${typeof sock.remotePort}`));
  let resClosed;
  const resClose = new Promise((r) => { resClosed = r; });
  s.on('request', (req, res) => {
    events.push('request');
    res.on('finish', () => events.push('finish'));
    res.on('close', () => { events.push('res-close'); resClosed(); });
    res.end('ok');
  });
  s.on('close', () => events.push('close'));
  const port = await listen(s);
  await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  await resClose;
  await close(s);
  assert.deepStrictEqual(events, ['listening', 'connection:number', 'request', 'finish', 'res-close', 'close']);
});

test('streaming request body: pipe, async iteration, setEncoding, chunked with trailers', async () => {
  const s = http.createServer(async (req, res) => {
    if (req.url === '/pipe') {
      req.pipe(res);
    } else if (req.url === '/iter') {
      let n = 0;
      for await (const chunk of req) n += chunk.length;
      res.end(String(n));
    } else {
      req.setEncoding('utf8');
      let body = '';
      req.on('data', (d) => { assert.strictEqual(typeof d, 'string'); body += d; });
      req.on('end', () => res.end(`${body}|${JSON.stringify(req.trailers)}`));
    }
  });
  const port = await listen(s);
  const echo = await raw(port, ['POST /pipe HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello', 'world']);
  assert.match(echo, /\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n$/);
  const big = 'x'.repeat(300000);
  const iter = await raw(port, `POST /iter HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
  assert.match(iter, /\r\n\r\n300000$/);
  const tr = await raw(port, 'POST /enc HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: tv\r\n\r\n');
  assert.match(tr, /\r\n\r\nabcde\|\{"x-trailer":"tv"\}$/);
  await close(s);
});

test('pipelined requests answered in order despite out-of-order completion', async () => {
  const s = http.createServer((req, res) => {
    const delay = req.url === '/slow' ? 80 : req.url === '/mid' ? 20 : 0;
    setTimeout(() => res.end(req.url), delay);
  });
  const port = await listen(s);
  const out = await raw(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /mid HTTP/1.1\r\nHost: a\r\n\r\n' +
    'GET /fast HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.strictEqual(statusLines(out).length, 3);
  assert.deepStrictEqual([...out.matchAll(/\r\n\r\n(\/[a-z]+)/g)].map((m) => m[1]), ['/slow', '/mid', '/fast']);
  await close(s);
});

test('backpressure: write() returns false, then drain', async () => {
  let sawFalse = false;
  let drains = 0;
  const total = 8 * 1024 * 1024;
  const s = http.createServer((req, res) => {
    res.setHeader('Content-Length', total);
    const chunk = Buffer.alloc(64 * 1024, 97);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) { sawFalse = true; res.once('drain', () => { drains++; pump(); }); return; }
      }
      res.end();
    };
    pump();
  });
  const port = await listen(s);
  let received = 0;
  await new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
    c.pause();
    setTimeout(() => c.resume(), 200); // a slow reader first
    c.on('data', (d) => { received += d.length; });
    c.on('end', resolve);
    c.on('error', reject);
  });
  assert.ok(sawFalse, 'write() never returned false');
  assert.ok(drains > 0, 'no drain');
  assert.ok(received > total, `received ${received}`);
  await close(s);
});

test('checkContinue listener decides, writeContinue sends 100', async () => {
  const s = http.createServer();
  s.on('checkContinue', (req, res) => {
    if (req.headers['x-deny']) { res.writeHead(403); res.end(); return; }
    res.writeContinue();
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => res.end(b));
  });
  const port = await listen(s);
  const ok = await raw(port, ['POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n', 'abc']);
  assert.match(ok, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nabc$/);
  const denied = await raw(port, 'POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Deny: 1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
  assert.match(denied, /^HTTP\/1\.1 403 Forbidden\r\n/);
  await close(s);
});

test('checkExpectation listener', async () => {
  const s = http.createServer((req, res) => res.end('no'));
  s.on('checkExpectation', (req, res) => res.end(`exp:${req.headers.expect}`));
  const port = await listen(s);
  const out = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nExpect: x-y\r\n\r\n');
  assert.match(out, /\r\n\r\nexp:x-y$/);
  await close(s);
});

// Node closes an idle connection keepAliveTimeoutBuffer (Node 20: a fixed 1 s; Node 24.6:
// an option) after the keepAliveTimeout it advertises, so that a client trusting
// `Keep-Alive: timeout=N` never reuses a connection the server is closing.
async function idleCloseAfter(s) {
  const port = await listen(s);
  let answered = 0;
  const out = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', {
    timeout: 4000,
    onData: () => { answered = answered || Date.now(); },
  });
  const dt = Date.now() - answered;
  await close(s);
  return { out, dt };
}

test('keepAliveTimeout: an idle connection closes 1 s after the advertised timeout', async () => {
  const s = http.createServer((req, res) => res.end('k'));
  s.keepAliveTimeout = 200;
  const { out, dt } = await idleCloseAfter(s);
  assert.match(out, /\r\nConnection: keep-alive\r\nKeep-Alive: timeout=0\r\n/);
  assert.ok(dt >= 1170 && dt < 1700, `closed ${dt} ms after the response`);
});

test('keepAliveTimeoutBuffer (Node 24.6) where the server has it', async () => {
  const s = http.createServer({ keepAliveTimeoutBuffer: 100 }, (req, res) => res.end('k'));
  s.keepAliveTimeout = 200;
  // Node 20 has no such option (undefined): its buffer is 1 s.
  const buffer = s.keepAliveTimeoutBuffer ?? 1000;
  const { out, dt } = await idleCloseAfter(s);
  assert.match(out, /\r\nKeep-Alive: timeout=0\r\n/);
  assert.ok(dt >= 200 + buffer - 30 && dt < 200 + buffer + 500, `closed ${dt} ms after the response`);
  if (IMPL !== 'node') {
    assert.strictEqual(buffer, 100);
    assert.strictEqual(http.createServer({ keepAliveTimeoutBuffer: -1 }).keepAliveTimeoutBuffer, 1000);
  }
});

test('server.setTimeout: timeout event with the socket', async () => {
  const s = http.createServer(() => { /* never answers */ });
  let fired = false;
  s.setTimeout(200, (socket) => { fired = true; socket.destroy(); });
  const port = await listen(s);
  const t0 = Date.now();
  await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { timeout: 3000 });
  assert.ok(fired);
  assert.ok(Date.now() - t0 < 2500);
  await close(s);
});

test('close() with an idle keep-alive connection; closeIdleConnections', async () => {
  const s = http.createServer((req, res) => res.end('x'));
  const port = await listen(s);
  const c = net.connect(port, '127.0.0.1');
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await once(c, 'data');
  const ended = once(c, 'close');
  const closed = once(s, 'close');
  s.close();
  await closed;
  await ended;
  assert.strictEqual(s.listening, false);

  const s2 = http.createServer((req, res) => res.end('y'));
  const port2 = await listen(s2);
  const c2 = net.connect(port2, '127.0.0.1');
  c2.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await once(c2, 'data');
  const ended2 = once(c2, 'close');
  s2.closeIdleConnections();
  await ended2;
  await close(s2);
});

test('close(): a half-received request is answered, idle closed, new connections refused', async () => {
  let firstData;
  const bodyStarted = new Promise((r) => { firstData = r; });
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; firstData(); });
    req.on('end', () => res.end(`got ${body}`));
  });
  s.keepAliveTimeout = 1000;
  const port = await listen(s);
  const idle = net.connect(port, '127.0.0.1');
  idle.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await once(idle, 'data');
  const half = net.connect(port, '127.0.0.1');
  half.setEncoding('latin1');
  let answer = '';
  half.on('data', (d) => { answer += d; });
  const halfClosed = once(half, 'close');
  await once(half, 'connect');
  half.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello');
  await bodyStarted; // the server is reading this request's body
  const idleClosed = once(idle, 'close');
  const closed = once(s, 'close');
  s.close();
  await idleClosed;
  const err = await new Promise((r) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); r(null); });
    c.on('error', r);
  });
  assert.strictEqual(err && err.code, 'ECONNREFUSED');
  half.write('world');
  await closed;
  await halfClosed;
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  // As Node 20: close() does not end a busy connection; its response says keep-alive and
  // the socket goes when its keepAliveTimeout runs out.
  assert.match(answer, /\r\nConnection: keep-alive\r\n/i);
  assert.match(answer, /got helloworld$/);
});

test('server.stats() counts requests, responses by class, client errors and bytes (ringhttp)', async (t) => {
  if (IMPL === 'node') return t.skip('ringhttp only');
  const s = http.createServer((req, res) => { res.statusCode = req.url === '/404' ? 404 : 200; res.end('ok'); });
  const port = await listen(s);
  assert.strictEqual(s.stats().requests, 0);
  const reqs = 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /404 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
  const out = await raw(port, reqs);
  const bad = 'GET / HTTP/1.1\r\nBad Header: x\r\n\r\n';
  const out2 = await raw(port, bad);
  assert.match(out2, /^HTTP\/1\.1 400/);
  // `100 Continue` is a response of its own (1xx), ahead of the 200.
  const cont = 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
  const out3 = await raw(port, cont);
  assert.match(out3, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  await new Promise((r) => setTimeout(r, 50));
  const st = s.stats();
  assert.strictEqual(st.backend, s.backend);
  assert.strictEqual(st.accepted, 3);
  assert.strictEqual(st.requests, 3);
  assert.deepStrictEqual(st.responses, { '1xx': 1, '2xx': 2, '3xx': 0, '4xx': 2, '5xx': 0 });
  assert.strictEqual(st.clientErrors.badRequest, 1);
  assert.deepStrictEqual(st.timeouts, { headers: 0, request: 0, keepAlive: 0, inactivity: 0, linger: 0 });
  assert.strictEqual(st.bytesIn, reqs.length + bad.length + cont.length);
  const bytes = (s) => Buffer.byteLength(s, 'latin1');
  assert.strictEqual(st.bytesOut, bytes(out) + bytes(out2) + bytes(out3));
  await close(s);
  assert.strictEqual(s.stats().openConnections, 0);
});

test('listen on a unix socket', async () => {
  const p = path.join(os.tmpdir(), `ringhttp-test-${process.pid}-${IMPL}.sock`);
  const s = http.createServer((req, res) => res.end('unix'));
  await listen(s, p);
  assert.strictEqual(s.address(), p);
  const out = await raw(p, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(out, /\r\n\r\nunix$/);
  await close(s);
});

test('a throwing request listener surfaces as uncaughtException', () => {
  const script = `
    const net = require('net');
    const http = process.env.RINGHTTP_IMPL === 'node' ? require('http') : require(${JSON.stringify(path.join(__dirname, '..'))});
    const s = http.createServer(() => { throw new Error('boom'); });
    process.on('uncaughtException', (e) => {
      console.log('uncaught:' + e.message);
      setTimeout(() => process.exit(0), 300);
    });
    s.listen(0, '127.0.0.1', () => {
      const c = net.connect(s.address().port, '127.0.0.1', () => c.write('GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'));
      let out = '';
      c.on('data', (d) => { out += d; });
      c.on('close', () => console.log('status:' + out.split('\\r\\n')[0]));
      setTimeout(() => c.destroy(), 200);
    });`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env }, encoding: 'utf8', timeout: 10000 });
  assert.match(out, /uncaught:boom/);
  // Node sends nothing; ringhttp answers 500 when nothing was sent yet.
  if (IMPL === 'node') assert.match(out, /status:\n|status:$/m);
  else assert.match(out, /status:HTTP\/1\.1 500 Internal Server Error/);
});

test('listen errors: EADDRINUSE when another socket holds the port', async () => {
  // A plain net server (no SO_REUSEPORT) holds the port.
  const holder = net.createServer();
  await new Promise((r) => holder.listen(0, '127.0.0.1', r));
  const port = holder.address().port;
  const b = http.createServer();
  const [err] = await new Promise((r) => { b.once('error', (...x) => r(x)); b.listen(port, '127.0.0.1'); });
  assert.strictEqual(err.code, 'EADDRINUSE');
  await new Promise((r) => holder.close(r));
});

test('listen: a second server on a used port is EADDRINUSE unless both pass reusePort', async () => {
  const a = http.createServer((req, res) => res.end('a'));
  const port = await listen(a, 0, '127.0.0.1');
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    const b = http.createServer();
    const [err] = await new Promise((r) => { b.once('error', (...x) => r(x)); b.listen(port, host); });
    assert.strictEqual(err.code, 'EADDRINUSE', host);
  }
  await close(a);
  // Node 22's reusePort (Node 20, the oracle here, does not have it).
  if (IMPL === 'node') return;
  const c = http.createServer((req, res) => res.end('c'));
  const d = http.createServer((req, res) => res.end('d'));
  const p2 = await listen(c, { port: 0, host: '127.0.0.1', reusePort: true });
  await listen(d, { port: p2, host: '127.0.0.1', reusePort: true });
  // An exclusive listen still fails against the shared pair.
  const e = http.createServer();
  const [err] = await new Promise((r) => { e.once('error', (...x) => r(x)); e.listen(p2, '127.0.0.1'); });
  assert.strictEqual(err.code, 'EADDRINUSE');
  await close(c);
  await close(d);
});

test("'upgrade': the listener gets the head bytes and a raw socket (echo)", async () => {
  let seen;
  const s = http.createServer((req, res) => res.end('plain'));
  s.on('upgrade', (req, socket, head) => {
    seen = { method: req.method, url: req.url, up: req.headers.upgrade, head: head.toString(), isBuf: Buffer.isBuffer(head),
      remote: socket.remoteAddress };
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.write(head);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
  });
  const port = await listen(s);
  const got = await raw(port, ['GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst;', 'second;', 'third'],
    { until: (o) => o.endsWith('third') });
  assert.strictEqual(got, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nfirst;second;third');
  assert.deepStrictEqual(seen, { method: 'GET', url: '/chat', up: 'echo', head: 'first;', isBuf: true, remote: '127.0.0.1' });
  // The same request without an 'upgrade' listener is an ordinary request.
  s.removeAllListeners('upgrade');
  await new Promise((r) => setImmediate(r));
  const plain = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\nUpgrade: echo\r\n\r\n');
  assert.match(plain, /^HTTP\/1\.1 200 OK\r\n[^]*plain$/);
  await close(s);
});

test("'upgrade': socket 'end' and 'close' when the client goes away; destroy() cuts", async () => {
  const events = [];
  const closed = new Promise((resolve) => {
    const s = http.createServer();
    s.on('upgrade', (req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n');
      socket.on('data', (d) => { events.push(`data:${d}`); if (String(d).includes('bye')) socket.destroy(); });
      socket.on('close', () => { events.push('close'); resolve(s); });
    });
    listen(s).then((port) => raw(port, ['GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n', 'bye']));
  });
  const s = await closed;
  assert.deepStrictEqual(events, ['data:bye', 'close']);
  await close(s);
});

test("'connect': a CONNECT tunnel", async () => {
  const target = net.createServer((c) => c.on('data', (d) => c.write(`<${d}>`)));
  await new Promise((r) => target.listen(0, '127.0.0.1', r));
  const tport = target.address().port;
  let url;
  const s = http.createServer((req, res) => res.end());
  s.on('connect', (req, client, head) => {
    url = req.url;
    const [host, port] = req.url.split(':');
    const up = net.connect(+port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  const port = await listen(s);
  const got = await raw(port, [`CONNECT 127.0.0.1:${tport} HTTP/1.1\r\nHost: 127.0.0.1:${tport}\r\n\r\n`, 'ping'],
    { until: (o) => o.endsWith('<ping>') });
  assert.strictEqual(url, `127.0.0.1:${tport}`);
  assert.strictEqual(got, 'HTTP/1.1 200 Connection Established\r\n\r\n<ping>');
  await close(s);
  await new Promise((r) => target.close(r));
});

test('CONNECT without a listener closes the connection', async () => {
  const s = http.createServer((req, res) => res.end('no'));
  const port = await listen(s);
  const got = await raw(port, 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n');
  assert.strictEqual(got, '');
  await close(s);
});

let WebSocket = null;
try {
  WebSocket = require('ws');
} catch (_) {
  // `ws` not installed (npm install in bindings/node): the test below is skipped.
}

test('ws: WebSocketServer.handleUpgrade round trip', { skip: WebSocket === null && 'ws not installed' }, async () => {
  const wss = new WebSocket.WebSocketServer({ noServer: true });
  const s = http.createServer((req, res) => res.end());
  s.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (m, isBinary) => ws.send(isBinary ? m : `echo:${m}`, { binary: isBinary }));
    });
  });
  const port = await listen(s);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const got = [];
  await new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => { ws.send('hello'); ws.send(Buffer.alloc(70000, 7)); });
    ws.on('message', (m, isBinary) => {
      got.push(isBinary ? `bin:${m.length}:${m[69999]}` : String(m));
      if (got.length === 2) ws.close(1000, 'done');
    });
    ws.on('close', (code) => { got.push(code); resolve(); });
  });
  assert.deepStrictEqual(got, ['echo:hello', 'bin:70000:7', 1000]);
  wss.close();
  await close(s);
});

test('a NUL or CR/LF inside a writeHead header value is rejected, not split into headers', async () => {
  const codes = [];
  const s = http.createServer((req, res) => {
    try {
      res.writeHead(200, { 'X-A': req.url === '/nul' ? 'a\0X-B\0b' : 'a\r\nX-B: b' });
      res.end('x');
    } catch (e) {
      codes.push(e.code);
    }
    res.destroy();
  });
  const port = await listen(s);
  for (const url of ['/nul', '/crlf']) {
    const got = await raw(port, `GET ${url} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.doesNotMatch(got, /X-B/);
  }
  assert.deepStrictEqual(codes, ['ERR_INVALID_CHAR', 'ERR_INVALID_CHAR']);
  await close(s);
});

test('req.setTimeout / res.setTimeout: timeout events for the message; the connection stays', async () => {
  const s = http.createServer((req, res) => {
    if (req.url === '/res') {
      res.setTimeout(150, () => res.end('late'));
    } else {
      req.setTimeout(150, () => {
        res.writeHead(408, { Connection: 'close' });
        res.end('slow body');
      });
      req.resume();
    }
  });
  const port = await listen(s);
  let t0 = Date.now();
  const a = await raw(port, 'GET /res HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(a, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nlate$/);
  assert.ok(Date.now() - t0 >= 130, `after ${Date.now() - t0} ms`);
  t0 = Date.now();
  const b = await raw(port, 'POST /req HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', { until: (o) => /slow body(\r\n0\r\n\r\n)?$/.test(o) });
  assert.match(b, /^HTTP\/1\.1 408 Request Timeout\r\n[^]*slow body(\r\n0\r\n\r\n)?$/);
  assert.ok(Date.now() - t0 >= 130, `after ${Date.now() - t0} ms`);
  await close(s);
});
