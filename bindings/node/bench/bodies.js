'use strict';
// The bodies the shape servers send, shared by the ringhttp/Node and uWebSockets.js
// servers so both put the same bytes on the wire.
const HELLO = 'Hello, World!';
const HELLO_BUF = Buffer.from(HELLO);

// A 16 KiB JSON document (a list of records, as an API would return), built once: the
// shape measures sending a large string, not JSON.stringify.
function json16k() {
  const items = [];
  let s = '';
  for (let i = 0; s.length < 16384; i++) {
    items.push({ id: i, name: `user${i}`, email: `user${i}@example.com`, active: i % 3 !== 0, score: (i * 7919) % 1000 });
    s = JSON.stringify({ items });
  }
  items.pop();
  s = JSON.stringify({ items, pad: '' });
  return JSON.stringify({ items, pad: 'x'.repeat(16384 - s.length) });
}
const JSON16K = json16k();

const BODY64K = Buffer.alloc(65536, 'abcdefghijklmnopqrstuvwxyz0123456789\n');

// res.write x3 then end(): one response in three chunks.
const CHUNKS = ['Hello', ', ', 'World!'];

module.exports = { HELLO, HELLO_BUF, JSON16K, BODY64K, CHUNKS };
