'use strict';
// Which backend the suites ran on, so a pass cannot silently lose its io_uring coverage:
// RINGHTTP_BACKEND=epoll must give epoll; otherwise RINGHTTP_REQUIRE_URING=1 (CI) demands
// io_uring, and without it a fallback is reported as a skip.
const test = require('node:test');
const assert = require('assert');
const { http, IMPL, listen, close } = require('./helpers');

test('the server runs on the backend this pass is meant to cover', async (t) => {
  if (IMPL === 'node') return t.skip('Node has no backend');
  const s = http.createServer((req, res) => res.end());
  await listen(s);
  const backend = s.backend;
  await close(s);
  if (process.env.RINGHTTP_BACKEND === 'epoll') {
    assert.strictEqual(backend, 'epoll');
  } else if (process.env.RINGHTTP_REQUIRE_URING === '1') {
    assert.strictEqual(backend, 'io_uring', 'io_uring required (RINGHTTP_REQUIRE_URING=1)');
  } else if (backend !== 'io_uring') {
    t.skip(`io_uring unavailable: the suites ran on ${backend}`);
  }
});
