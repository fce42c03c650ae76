'use strict';
// Popular middleware on an unmodified app, served through `ringhttp/register` (or Node's
// own http with RINGHTTP_IMPL=node, the oracle). Skipped when the devDependencies are absent.
const { IMPL } = require('./helpers');

if (IMPL !== 'node') require('../register');
const test = require('node:test');
const assert = require('node:assert');
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Writable } = require('stream');

let deps;
try {
  deps = {
    express: require('express'),
    session: require('express-session'),
    compression: require('compression'),
    morgan: require('morgan'),
    cookieParser: require('cookie-parser'),
    multer: require('multer'),
    helmet: require('helmet'),
    cors: require('cors'),
    Koa: require('koa'),
    Router: require('@koa/router'),
    request: require('supertest'),
    ws: require('ws'),
  };
} catch (e) {
  test('middleware suites', { skip: `devDependencies missing (npm install): ${e.message}` }, () => {});
  return;
}
const { express, request } = deps;

// The server class that answers is the one the register hook installed.
test('the register hook hands out the implementation under test', () => {
  const srv = http.createServer();
  assert.strictEqual(srv.constructor.name === 'Server' && typeof srv.stats === 'function', IMPL !== 'node');
  assert.strictEqual(http.createServer === require('..').createServer, IMPL !== 'node');
  // The client side stays Node's.
  assert.strictEqual(typeof http.request, 'function');
  assert.strictEqual(http.Agent, require('_http_agent').Agent);
  // A response built with Node's signature and no socket (light-my-request, i.e. Fastify's
  // inject(), subclasses http.ServerResponse so) still behaves as Node's.
  // (and http2's HTTP/1 fallback builds requests from http.IncomingMessage so).
  const req = new http.IncomingMessage(new (require('net').Socket)());
  assert.deepStrictEqual([req.headers, req.rawHeaders, req.complete], [{}, [], false]);
  req.method = 'GET';
  class Fake extends http.ServerResponse {}
  const res = new Fake(req);
  assert.ok(res instanceof http.ServerResponse);
  res.setHeader('X-A', '1');
  assert.strictEqual(res.getHeader('x-a'), '1');
  http.ServerResponse.prototype.writeHead.call(res, 201);
  assert.strictEqual(res.statusCode, 201);
  assert.ok(res.headersSent);
});

test('supertest on Express: listen(0) with no port, JSON, 404, errors, body parsing', async () => {
  const app = express();
  app.use(express.json());
  app.get('/user/:id', (req, res) => res.json({ id: req.params.id, q: req.query.x }));
  app.post('/echo', (req, res) => res.status(201).json(req.body));
  app.get('/boom', () => { throw new Error('boom'); });
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => res.status(500).send(`caught ${err.message}`));
  await request(app).get('/user/7?x=y').expect('Content-Type', /json/).expect(200, { id: '7', q: 'y' });
  await request(app).post('/echo').send({ a: [1, 2] }).expect(201, { a: [1, 2] });
  await request(app).get('/nope').expect(404);
  await request(app).get('/boom').expect(500, 'caught boom');
  // The server object supertest keeps: bound at once, closed through _handle.
  const srv = app.listen(0);
  assert.ok(srv.address().port > 0);
  assert.ok(srv._handle);
  await new Promise((r) => srv.close(r));
});

test('express-session: the cookie is set through the wrapped writeHead and the session persists', async () => {
  const app = express();
  app.use(deps.session({ secret: 's3cret', resave: false, saveUninitialized: false }));
  app.get('/count', (req, res) => {
    req.session.n = (req.session.n || 0) + 1;
    res.send(String(req.session.n));
  });
  const agent = request.agent(app);
  const r1 = await agent.get('/count').expect(200, '1');
  assert.match(r1.headers['set-cookie'][0], /^connect\.sid=/);
  await agent.get('/count').expect(200, '2');
  await agent.get('/count').expect(200, '3');
});

test('compression: gzip for large bodies (end and streamed writes), identity below the threshold', async () => {
  const app = express();
  app.use(deps.compression({ threshold: 1024 }));
  const big = 'ringhttp '.repeat(2000);
  app.get('/big', (req, res) => res.type('text').send(big));
  app.get('/small', (req, res) => res.type('text').send('tiny'));
  app.get('/stream', (req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    for (let i = 0; i < 50; i++) res.write(`line ${i} ${'x'.repeat(100)}\n`);
    res.end();
  });
  const parse = (res, cb) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  };
  const a = await request(app).get('/big').set('Accept-Encoding', 'gzip').buffer(true).parse(parse);
  // (superagent gunzips what it receives.)
  assert.strictEqual(a.headers['content-encoding'], 'gzip');
  assert.strictEqual(a.body.toString(), big);
  const b = await request(app).get('/small').set('Accept-Encoding', 'gzip');
  assert.strictEqual(b.headers['content-encoding'], undefined);
  assert.strictEqual(b.text, 'tiny');
  const c = await request(app).get('/stream').set('Accept-Encoding', 'gzip').buffer(true).parse(parse);
  assert.strictEqual(c.headers['content-encoding'], 'gzip');
  assert.strictEqual(c.headers['transfer-encoding'], 'chunked');
  assert.strictEqual(c.body.toString().split('\n').length, 51);
});

test('morgan: one log line with method, url, status and length once the response is done', async () => {
  const lines = [];
  const sink = new Writable({ write(chunk, enc, cb) { lines.push(String(chunk)); cb(); } });
  const app = express();
  app.use(deps.morgan(':method :url :status :res[content-length] :response-time', { stream: sink }));
  app.get('/m', (req, res) => res.status(203).send('hello'));
  await request(app).get('/m?x=1').expect(203, 'hello');
  await new Promise((r) => setImmediate(r));
  assert.strictEqual(lines.length, 1);
  assert.match(lines[0], /^GET \/m\?x=1 203 5 \d+\.\d{3}\n$/);
});

test('cookie-parser: plain and signed cookies', async () => {
  const app = express();
  app.use(deps.cookieParser('sig'));
  app.get('/set', (req, res) => res.cookie('s', 'v1', { signed: true }).cookie('p', 'v2').send('ok'));
  app.get('/get', (req, res) => res.json({ c: req.cookies, s: req.signedCookies }));
  const agent = request.agent(app);
  const r = await agent.get('/set').expect(200);
  assert.strictEqual(r.headers['set-cookie'].length, 2);
  await agent.get('/get').expect(200, { c: { p: 'v2' }, s: { s: 'v1' } });
});

test('multer: multipart upload of files and fields, to memory and to disk', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringhttp-multer-'));
  const app = express();
  const mem = deps.multer({ storage: deps.multer.memoryStorage() });
  const disk = deps.multer({ dest: dir });
  app.post('/mem', mem.array('f', 3), (req, res) => {
    res.json({ field: req.body.name, files: req.files.map((f) => [f.originalname, f.size, f.buffer.subarray(0, 4).toString()]) });
  });
  app.post('/disk', disk.single('doc'), (req, res) => {
    res.json({ size: fs.statSync(req.file.path).size, same: fs.readFileSync(req.file.path).equals(big) });
  });
  const big = Buffer.alloc(300 * 1024, 7);
  big.write('HEAD', 0);
  await request(app).post('/mem').field('name', 'ring')
    .attach('f', Buffer.from('abcdefgh'), 'a.txt')
    .attach('f', big, 'big.bin')
    .expect(200, { field: 'ring', files: [['a.txt', 8, 'abcd'], ['big.bin', big.length, 'HEAD']] });
  await request(app).post('/disk').attach('doc', big, 'd.bin').expect(200, { size: big.length, same: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('helmet: security headers set, X-Powered-By removed', async () => {
  const app = express();
  app.use(deps.helmet());
  app.get('/', (req, res) => res.send('secure'));
  const r = await request(app).get('/').expect(200, 'secure');
  assert.match(r.headers['content-security-policy'], /default-src 'self'/);
  assert.strictEqual(r.headers['x-content-type-options'], 'nosniff');
  assert.strictEqual(r.headers['x-frame-options'], 'SAMEORIGIN');
  assert.strictEqual(r.headers['x-powered-by'], undefined);
});

test('cors: preflight 204 and the allow-origin header on the actual request', async () => {
  const app = express();
  app.use(deps.cors({ origin: 'https://a.example', credentials: true }));
  app.put('/r', (req, res) => res.send('put'));
  const pre = await request(app).options('/r')
    .set('Origin', 'https://a.example')
    .set('Access-Control-Request-Method', 'PUT')
    .expect(204);
  assert.strictEqual(pre.headers['access-control-allow-origin'], 'https://a.example');
  assert.match(pre.headers['access-control-allow-methods'], /PUT/);
  assert.strictEqual(pre.headers['content-length'], '0');
  const r = await request(app).put('/r').set('Origin', 'https://a.example').expect(200, 'put');
  assert.strictEqual(r.headers['access-control-allow-credentials'], 'true');
});

test('ws shares the HTTP server with an Express app', async () => {
  const app = express();
  app.get('/http', (req, res) => res.send('plain'));
  const server = http.createServer(app);
  const wss = new deps.ws.WebSocketServer({ server });
  wss.on('connection', (sock) => sock.on('message', (m) => sock.send(`echo:${m}`)));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await request(server).get('/http').expect(200, 'plain');
  const client = new deps.ws.WebSocket(`ws://127.0.0.1:${port}/`);
  const got = await new Promise((resolve, reject) => {
    client.on('open', () => client.send('hi'));
    client.on('message', (m) => resolve(String(m)));
    client.on('error', reject);
  });
  assert.strictEqual(got, 'echo:hi');
  client.close();
  await new Promise((r) => client.on('close', r));
  wss.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('SSE: events stream until the client disconnects, then the server sees close', async () => {
  const app = express();
  let closed;
  const sawClose = new Promise((r) => { closed = r; });
  app.get('/events', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    let n = 0;
    const t = setInterval(() => res.write(`data: ${n++}\n\n`), 10);
    req.on('close', () => {
      clearInterval(t);
      closed({ aborted: req.aborted || res.destroyed, ended: res.writableEnded });
    });
  });
  const server = app.listen(0);
  const { port } = server.address();
  const text = await new Promise((resolve, reject) => {
    const req = http.get({ port, host: 'localhost', path: '/events' }, (res) => {
      assert.strictEqual(res.headers['content-type'], 'text/event-stream');
      let buf = '';
      res.on('data', (d) => {
        buf += d;
        if ((buf.match(/\n\n/g) || []).length >= 3) {
          req.destroy();
          resolve(buf);
        }
      });
    });
    req.on('error', (e) => (e.code === 'ECONNRESET' ? null : reject(e)));
  });
  assert.match(text, /^data: 0\n\ndata: 1\n\ndata: 2\n\n/);
  const seen = await Promise.race([sawClose, new Promise((r) => setTimeout(() => r('timeout'), 2000))]);
  assert.deepStrictEqual(seen, { aborted: true, ended: false });
  await new Promise((r) => server.close(r));
});

test('express.static: ranges, ETag/Last-Modified 304s, HEAD', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringhttp-static-'));
  const body = Buffer.from('0123456789abcdefghij'.repeat(100));
  fs.writeFileSync(path.join(dir, 'f.txt'), body);
  const app = express();
  app.use(express.static(dir));
  const full = await request(app).get('/f.txt').expect(200);
  assert.strictEqual(full.text, body.toString());
  assert.strictEqual(full.headers['accept-ranges'], 'bytes');
  const part = await request(app).get('/f.txt').set('Range', 'bytes=10-29').expect(206);
  assert.strictEqual(part.text, body.subarray(10, 30).toString());
  assert.strictEqual(part.headers['content-range'], `bytes 10-29/${body.length}`);
  assert.strictEqual(part.headers['content-length'], '20');
  const tail = await request(app).get('/f.txt').set('Range', 'bytes=-5').expect(206);
  assert.strictEqual(tail.text, body.subarray(-5).toString());
  await request(app).get('/f.txt').set('Range', `bytes=${body.length + 5}-`).expect(416);
  const etag = full.headers.etag;
  const r304 = await request(app).get('/f.txt').set('If-None-Match', etag).expect(304);
  assert.strictEqual(r304.text, '');
  await request(app).get('/f.txt').set('If-Modified-Since', full.headers['last-modified']).expect(304);
  const head = await request(app).head('/f.txt').expect(200);
  assert.strictEqual(head.headers['content-length'], String(body.length));
  await request(app).get('/missing.txt').expect(404);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Koa with @koa/router: params, JSON bodies, 404, thrown errors', async () => {
  const app = new deps.Koa();
  const router = new deps.Router();
  router.get('/items/:id', (ctx) => { ctx.body = { id: ctx.params.id }; });
  router.post('/items', async (ctx) => {
    let raw = '';
    for await (const c of ctx.req) raw += c;
    ctx.status = 201;
    ctx.body = { got: JSON.parse(raw) };
  });
  router.get('/fail', (ctx) => ctx.throw(418, 'teapot'));
  router.get('/stream', (ctx) => {
    ctx.type = 'text';
    ctx.body = require('stream').Readable.from(['a', 'b', 'c']);
  });
  app.use(router.routes()).use(router.allowedMethods());
  const srv = app.listen(0);
  await request(srv).get('/items/42').expect(200, { id: '42' });
  await request(srv).post('/items').send({ x: 1 }).expect(201, { got: { x: 1 } });
  await request(srv).get('/none').expect(404);
  await request(srv).get('/fail').expect(418, 'teapot');
  await request(srv).get('/stream').expect(200, 'abc');
  await request(srv).delete('/items/1').expect(405);
  await new Promise((r) => srv.close(r));
});
