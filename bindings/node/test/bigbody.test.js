'use strict';
// end(Buffer) with a big Buffer (ringhttp sends it from the Buffer's memory, no copy):
// the same bytes as Node for GET, nothing for HEAD, in order when pipelined with other
// responses, and with write() before it (chunked) or a smaller Content-Length.
const test = require('node:test');
const assert = require('assert');
const { http, listen, close, raw } = require('./helpers');

const BIG = Buffer.alloc(100000);
for (let i = 0; i < BIG.length; i++) BIG[i] = 97 + (i % 26);

function handler(req, res) {
  if (req.url === '/big') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(BIG);
  } else if (req.url === '/small') {
    res.end('small');
  } else if (req.url === '/chunked') {
    res.write('pre');
    res.end(BIG);
  } else if (req.url === '/short') {
    res.writeHead(200, { 'Content-Length': 10 });
    res.end(BIG);
  } else {
    res.statusCode = 304;
    res.end(BIG);
  }
}

// Splits replies: [status, body] each (Content-Length or chunked bodies).
function replies(text, heads = 0) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const e = text.indexOf('\r\n\r\n', i);
    if (e < 0) break;
    const head = text.slice(i, e);
    const status = +head.split(' ')[1];
    let body = '';
    i = e + 4;
    const cl = /\r\nContent-Length: (\d+)/i.exec(head);
    if (/\r\nTransfer-Encoding: chunked/i.test(head)) {
      for (;;) {
        const le = text.indexOf('\r\n', i);
        const n = parseInt(text.slice(i, le), 16);
        i = le + 2;
        if (n === 0) { i += 2; break; }
        body += text.substr(i, n);
        i += n + 2;
      }
    } else if (cl && status !== 304 && out.length >= heads) {
      body = text.substr(i, +cl[1]);
      i += +cl[1];
    }
    out.push([status, body]);
  }
  return out;
}

test('end(big Buffer): same bytes as Node, pipelined in order, HEAD/304 without a body, chunked and cut copies', async () => {
  const s = http.createServer(handler);
  const port = await listen(s);
  const big = BIG.toString('latin1');
  const get = (u) => `GET ${u} HTTP/1.1\r\nHost: a\r\n\r\n`;
  const out = await raw(port, get('/big') + get('/small') + get('/big') + get('/chunked') + get('/short') +
    get('/304') + 'GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeout: 5000 });
  const r = replies(out);
  assert.deepStrictEqual(r.map((x) => x[0]), [200, 200, 200, 200, 200, 304, 200]);
  assert.ok(r[0][1] === big && r[2][1] === big && r[6][1] === big, 'big bodies intact');
  assert.strictEqual(r[1][1], 'small');
  assert.strictEqual(r[3][1], 'pre' + big);
  assert.strictEqual(r[4][1], big.slice(0, 10));
  const head = await raw(port, 'HEAD /big HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const h = replies(head, 1);
  assert.deepStrictEqual(h.map((x) => x[0]), [200, 200]);
  assert.strictEqual(h[1][1], 'small');
  await close(s);
});
