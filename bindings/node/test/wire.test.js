'use strict';
// Exact bytes on the wire (Date masked), identical for Node's http and ringhttp.
const test = require('node:test');
const assert = require('assert');
const { http, listen, close, raw, maskDate } = require('./helpers');

// writeHead() then end(data) with nothing written in between: Node sends the body chunked
// (or close-delimited on HTTP/1.0), ringhttp with Content-Length. Both are valid HTTP; for
// these cases (marked EITHER) the framing headers are checked for validity and the body
// decoded, then the rest is compared exactly.
const EITHER = true;

// { head without Content-Length/Transfer-Encoding lines, body } of one response, or null
// while incomplete (`closed`: the peer closed, so a close-delimited body is complete).
// Throws on invalid framing.
function deframe(text, closed) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = text.slice(0, end).split('\r\n');
  const cl = lines.filter((l) => /^content-length:/i.test(l));
  const te = lines.filter((l) => /^transfer-encoding:/i.test(l));
  const head = lines.filter((l) => !/^(content-length|transfer-encoding):/i.test(l)).join('\r\n');
  let rest = text.slice(end + 4);
  assert.ok(cl.length + te.length <= 1, `one framing header at most: ${text}`);
  if (cl.length) {
    const n = Number(cl[0].split(':')[1].trim());
    assert.ok(Number.isInteger(n), text);
    if (rest.length < n) return null;
    assert.strictEqual(rest.length, n, 'nothing after the body');
    return { head, body: rest };
  }
  if (te.length) {
    assert.match(te[0], /chunked$/i);
    let body = '';
    for (;;) {
      const i = rest.indexOf('\r\n');
      if (i < 0) return null;
      const size = parseInt(rest.slice(0, i), 16);
      assert.ok(/^[0-9a-fA-F]+$/.test(rest.slice(0, i)), `chunk size: ${text}`);
      if (rest.length < i + 2 + size + 2) return null;
      assert.strictEqual(rest.slice(i + 2 + size, i + 4 + size), '\r\n');
      if (size === 0) {
        assert.strictEqual(rest.length, i + 4, 'nothing after the last chunk');
        return { head, body };
      }
      body += rest.slice(i + 2, i + 2 + size);
      rest = rest.slice(i + 4 + size);
    }
  }
  return closed ? { head, body: rest } : null;
}

const K = 'Date: X\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n';
const CASES = [
  ['writeHead + end: chunked in Node, Content-Length in ringhttp', 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${K}Transfer-Encoding: chunked\r\n\r\nd\r\nHello, World!\r\n0\r\n\r\n`, EITHER],
  ['Connection: close request', 'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: X\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nHello, World!\r\n0\r\n\r\n', EITHER],
  ['HTTP/1.0: body until close', 'GET /hello HTTP/1.0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: X\r\nConnection: close\r\n\r\nHello, World!', EITHER],
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
    `HTTP/1.1 417 Expectation Failed\r\n${K}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, EITHER],
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
  for (const [name, request, expected, either] of CASES) {
    await t.test(name, async () => {
      if (either) {
        const got = await raw(port, request, { timeout: 500, until: (o) => deframe(o, false) !== null });
        assert.deepStrictEqual(deframe(maskDate(got), true), deframe(expected, true));
        return;
      }
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
