'use strict';
// Exact bytes on the wire (Date masked), identical for Node's http and ringhttp.
const test = require('node:test');
const assert = require('assert');
const { http, listen, close, raw, maskDate } = require('./helpers');

const K = 'Date: X\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n';
const CASES = [
  ['writeHead + end: chunked (Node fixes framing at writeHead)', 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${K}Transfer-Encoding: chunked\r\n\r\nd\r\nHello, World!\r\n0\r\n\r\n`],
  ['Connection: close request', 'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: X\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nHello, World!\r\n0\r\n\r\n'],
  ['HTTP/1.0: body until close', 'GET /hello HTTP/1.0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: X\r\nConnection: close\r\n\r\nHello, World!'],
  ['implicit head: Content-Length from end(data)', 'GET /implicit HTTP/1.1\r\nHost: a\r\n\r\n',
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${K}Content-Length: 2\r\n\r\nok`],
  ['setHeader list + write() chunks', 'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n',
    `HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\n${K}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n`],
  ['HEAD: no body', 'HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${K}\r\n`],
  ['204: no body', 'GET /204 HTTP/1.1\r\nHost: a\r\n\r\n', `HTTP/1.1 204 No Content\r\nX-Y: z\r\n${K}\r\n`],
  ['304: no body', 'GET /304 HTTP/1.1\r\nHost: a\r\n\r\n', `HTTP/1.1 304 Not Modified\r\n${K}\r\n`],
  ['statusMessage + removeHeader(Date)', 'GET /msg HTTP/1.1\r\nHost: a\r\n\r\n',
    'HTTP/1.1 200 Fine\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\nx'],
  ['response trailers', 'GET /trail HTTP/1.1\r\nHost: a\r\n\r\n',
    `HTTP/1.1 200 OK\r\nTrailer: X-T\r\n${K}Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: v\r\n\r\n`],
  ['Expect other than 100-continue: 417', 'GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n',
    `HTTP/1.1 417 Expectation Failed\r\n${K}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['malformed request: default 400', 'GARBAGE\r\n\r\n', 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'],
  ['oversized head: default 431', `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(17000)}\r\n\r\n`,
    'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'],
  ['Expect: 100-continue answered automatically', 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n',
    `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n${K}Content-Length: 0\r\n\r\n`],
];

test('wire bytes', async (t) => {
  const s = http.createServer((req, res) => {
    switch (req.url) {
      case '/hello': res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('Hello, World!'); break;
      case '/implicit': res.setHeader('Content-Type', 'text/plain'); res.end('ok'); break;
      case '/chunked': res.setHeader('X-A', ['1', '2']); res.write('ab'); res.write('cde'); res.end(); break;
      case '/204': res.writeHead(204, { 'X-Y': 'z' }); res.end('ignored'); break;
      case '/304': res.statusCode = 304; res.end(); break;
      case '/msg': res.statusMessage = 'Fine'; res.removeHeader('Date'); res.end('x'); break;
      case '/trail': res.writeHead(200, { Trailer: 'X-T' }); res.write('a'); res.addTrailers({ 'X-T': 'v' }); res.end(); break;
      default: res.end();
    }
  });
  const port = await listen(s);
  for (const [name, request, expected] of CASES) {
    await t.test(name, async () => {
      const got = await raw(port, request, { timeout: 500, until: (o) => o.endsWith(expected.slice(-12)) && maskDate(o).length >= expected.length });
      assert.strictEqual(maskDate(got), expected);
    });
  }
  await close(s);
});

test('Date header is a valid IMF-fixdate', async () => {
  const s = http.createServer((req, res) => res.end());
  const port = await listen(s);
  const got = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const m = /\r\nDate: ([^\r]+)\r\n/.exec(got);
  assert.ok(m, got);
  assert.match(m[1], /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
  assert.ok(Math.abs(Date.parse(m[1]) - Date.now()) < 5000);
  await close(s);
});

test('clientError listener answers with its own bytes', async () => {
  const s = http.createServer((req, res) => res.end());
  let code;
  s.on('clientError', (err, socket) => {
    code = err.code;
    socket.end('HTTP/1.1 400 Bad Request\r\nX-Custom: 1\r\n\r\n');
  });
  const port = await listen(s);
  const got = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n');
  assert.strictEqual(got, 'HTTP/1.1 400 Bad Request\r\nX-Custom: 1\r\n\r\n');
  assert.match(code, /^HPE_/);
  await close(s);
});
