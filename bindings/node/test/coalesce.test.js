'use strict';
// write()s of one synchronous run go to the engine in one call (with the end() that
// follows, if any): each must still be its own chunk, in order, pipelined, as Node sends
// them; a write with no end() in the same run must still reach the client (next tick),
// flushHeaders() must send the head at once, and callbacks keep their order.
const test = require('node:test');
const assert = require('assert');
const { http, listen, close, raw } = require('./helpers');

// The chunk sizes and body of each chunked reply in `text`, in order.
function chunkedReplies(text) {
  const out = [];
  let i = 0;
  for (;;) {
    const e = text.indexOf('\r\n\r\n', i);
    if (e < 0) break;
    const head = text.slice(i, e);
    assert.match(head, /\r\nTransfer-Encoding: chunked/i);
    i = e + 4;
    const sizes = [];
    let body = '';
    for (;;) {
      const le = text.indexOf('\r\n', i);
      const n = parseInt(text.slice(i, le), 16);
      i = le + 2;
      if (n === 0) { i += 2; break; }
      sizes.push(n);
      body += text.substr(i, n);
      i += n + 2;
    }
    out.push({ status: +head.split(' ')[1], sizes, body });
  }
  return out;
}

test('write() x N + end(): one chunk per write, in order, pipelined', async () => {
  const order = [];
  const s = http.createServer((req, res) => {
    if (req.url === '/three') {
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      res.write('a');
      res.write('bb', () => order.push('cb bb'));
      res.write(Buffer.from('ccc'));
      res.end('dddd', () => order.push('finish'));
    } else if (req.url === '/one') {
      res.write('x', () => order.push('cb x'));
      res.end();
    } else if (req.url === '/many') {
      for (let k = 1; k <= 7; k++) assert.strictEqual(res.write('m'.repeat(k)), true);
      res.end('end');
    } else {
      res.setHeader('X-A', '1');
      res.write('');
      res.write('late');
      res.end(Buffer.from('!'));
    }
  });
  const port = await listen(s);
  const get = (u) => `GET ${u} HTTP/1.1\r\nHost: a\r\n\r\n`;
  const out = await raw(port, get('/three') + get('/one') + get('/many') +
    'GET /other HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeout: 5000 });
  const r = chunkedReplies(out);
  assert.deepStrictEqual(r.map((x) => x.status), [201, 200, 200, 200]);
  assert.deepStrictEqual(r[0].sizes, [1, 2, 3, 4]);
  assert.strictEqual(r[0].body, 'abbcccdddd');
  assert.deepStrictEqual(r[1].sizes, [1]);
  assert.deepStrictEqual(r[2].sizes, [1, 2, 3, 4, 5, 6, 7, 3]);
  assert.deepStrictEqual(r[3].sizes, [4, 1]);
  assert.strictEqual(r[3].body, 'late!');
  assert.ok(order.indexOf('cb bb') >= 0 && order.indexOf('cb bb') < order.indexOf('finish'), order.join());
  assert.ok(order.includes('cb x'));
  await close(s);
});

test('a write() or flushHeaders() with no end() in the same run reaches the client', async () => {
  let release;
  const go = new Promise((r) => { release = r; });
  const s = http.createServer((req, res) => {
    if (req.url === '/head') {
      res.setHeader('X-Early', 'yes');
      res.flushHeaders();
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first');
      assert.strictEqual(res.headersSent, true);
    }
    go.then(() => {
      res.statusCode = 500; // too late: the head is out (as Node, it is ignored)
      res.end('last');
    });
  });
  const port = await listen(s);
  for (const u of ['/body', '/head']) {
    const want = u === '/body' ? 'first' : 'X-Early: yes';
    let seen = false;
    const out = await raw(port, `GET ${u} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, {
      timeout: 5000,
      onData: (text) => {
        if (!seen && text.includes(want)) {
          seen = true;
          release();
        }
      },
    });
    assert.ok(seen, `${u}: sent before end()`);
    const r = chunkedReplies(out);
    assert.strictEqual(r[0].status, 200);
    assert.strictEqual(r[0].body, u === '/body' ? 'firstlast' : 'last');
  }
  await close(s);
});
