'use strict';
// Body strings sent again and again are kept by the addon as UTF-8 and passed as a slot
// number: every response must still carry its own bytes, whatever mix of kept, new,
// evicted, non-ASCII (lone surrogates included), Buffer and long strings it sends, as one
// end() or as chunks in one call, on one server or two used in turn.
const test = require('node:test');
const assert = require('assert');
const { http, listen, close, raw } = require('./helpers');

// Each reply's body bytes (Content-Length or chunked) and chunk sizes, in order.
function replies(buf) {
  const out = [];
  let i = 0;
  for (;;) {
    const e = buf.indexOf('\r\n\r\n', i);
    if (e < 0) break;
    const head = buf.toString('latin1', i, e);
    i = e + 4;
    const cl = /\r\ncontent-length: (\d+)/i.exec(head);
    if (cl) {
      out.push({ sizes: null, body: buf.subarray(i, i + +cl[1]) });
      i += +cl[1];
      continue;
    }
    const sizes = [];
    const parts = [];
    for (;;) {
      const le = buf.indexOf('\r\n', i);
      const n = parseInt(buf.toString('latin1', i, le), 16);
      i = le + 2;
      if (n === 0) { i += 2; break; }
      sizes.push(n);
      parts.push(buf.subarray(i, i + n));
      i += n + 2;
    }
    out.push({ sizes, body: Buffer.concat(parts) });
  }
  return out;
}

// The strings the handlers send: more than the addon keeps (slots get reused), some of
// equal length (compared by value), non-ASCII, lone surrogates, one past the size kept.
const WORDS = [];
for (let i = 0; i < 14; i++) WORDS.push(`word${String(i).padStart(2, '0')}`);
WORDS.push('h\u00e9llo', '\u{1F600}!', '\ud83d', '\ude00', 'x'.repeat(1024), 'y'.repeat(1025));

function rawBytes(port, data) {
  return new Promise((resolve, reject) => {
    const sock = require('net').connect(port, '127.0.0.1');
    const parts = [];
    sock.on('data', (d) => parts.push(d));
    sock.on('end', () => resolve(Buffer.concat(parts)));
    sock.on('error', reject);
    sock.write(data);
  });
}

test('kept body strings: each response its own bytes, as end() and as chunks', async () => {
  const handler = (req, res) => {
    const [kind, ...ix] = req.url.slice(1).split('/');
    const words = ix.map((k) => (k === 'b' ? Buffer.from('buf') : WORDS[+k]));
    if (kind === 'end') {
      res.end(words[0]);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      for (const w of words) res.write(w);
      res.end();
    }
  };
  const a = http.createServer(handler);
  const b = http.createServer(handler);
  const pa = await listen(a);
  const pb = await listen(b);
  try {
    // First, on a fresh server: eight words kept (every slot taken, the oldest next to
    // go), a ninth seen once, then one call with the oldest word and the ninth: the
    // ninth must not be kept in the slot the first argument of that call stands for.
    const fill = [];
    for (let j = 0; j < 8; j++) fill.push(`/end/${j}`, `/end/${j}`);
    fill.push('/end/8', '/w/0/8', '/w/0/8/1');
    // Requests: a word as end(), three words as chunks (the bench's shape), a Buffer
    // between kept strings, and the same slot standing for two arguments of one call.
    const urls = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < WORDS.length; i++) {
        urls.push(`/end/${i}`);
        urls.push(`/w/${i}/${(i + 1) % WORDS.length}/${(i + 5) % WORDS.length}`);
        urls.push(`/w/${i}/b/${i}/${i}`);
      }
    }
    const want = (u) => {
      const [kind, ...ix] = u.slice(1).split('/');
      const bufs = ix.map((k) => (k === 'b' ? Buffer.from('buf') : Buffer.from(WORDS[+k])));
      return { sizes: kind === 'end' ? null : bufs.map((x) => x.length), body: Buffer.concat(bufs) };
    };
    const send = (list) => list.map((u, n) => `GET ${u} HTTP/1.1\r\nHost: a\r\n${n === list.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('');
    const check = (list, got) => {
      assert.strictEqual(got.length, list.length);
      for (let n = 0; n < list.length; n++) {
        const w = want(list[n]);
        assert.deepStrictEqual(got[n].sizes, w.sizes, list[n]);
        assert.ok(got[n].body.equals(w.body), `${list[n]}: ${got[n].body.toString('hex')}`);
      }
    };
    check(fill, replies(await rawBytes(pa, send(fill))));
    // Both servers in turn, each with its own pipelined batch, twice.
    for (let turn = 0; turn < 2; turn++) {
      for (const port of [pa, pb]) {
        check(urls, replies(await rawBytes(port, send(urls))));
      }
    }
  } finally {
    await close(a);
    await close(b);
  }
});
