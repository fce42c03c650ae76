'use strict';
// An app that swaps the prototype of every request and response (as Express does) and
// then adds properties: on ringhttp the ones added to every request are created by the
// constructor once learned (lib/expando.js), so V8 keeps one shape for them. What the app
// sees must not change: a property added to some requests only is absent from the
// others, an accessor on the swapped prototype still runs, values are the app's.
const test = require('node:test');
const { spawnSync } = require('child_process');
const path = require('path');
const assert = require('assert');
const { http, IMPL, listen, close, raw } = require('./helpers');

test('properties added after a prototype swap: same values and presence as Node', async () => {
  const tag = Symbol('tag');
  const reqProto = Object.create(http.IncomingMessage.prototype);
  const resProto = Object.create(http.ServerResponse.prototype);
  // An accessor on the swapped prototype whose setter makes an own property.
  Object.defineProperty(reqProto, 'fancy', {
    get() { return 'from getter'; },
    set(v) { Object.defineProperty(this, 'fancy', { value: `set:${v}`, writable: true, enumerable: true, configurable: true }); },
    configurable: true,
  });
  const seen = [];
  const server = http.createServer((req, res) => {
    const n = Number(req.url.slice(1));
    const before = { next: Object.hasOwn(req, 'next'), user: 'user' in req, fancy: req.fancy };
    Object.setPrototypeOf(req, reqProto);
    Object.setPrototypeOf(res, resProto);
    const fancyAfterSwap = req.fancy;
    req.next = () => n;
    req.params = { n };
    req[tag] = n;
    res.locals = { n };
    if (n % 2 === 1) req.user = `u${n}`;
    if (n === 15) req.fancy = 'x';
    seen.push({ n, before, fancyAfterSwap, user: 'user' in req, fancy: req.fancy });
    res.end(`${req.next()} ${req.params.n} ${req[tag]} ${res.locals.n} ${req.user}`);
  });
  const port = await listen(server);
  try {
    for (let n = 0; n < 20; n++) {
      const out = await raw(port, `GET /${n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const body = out.split('\r\n\r\n')[1];
      assert.strictEqual(body, `${n} ${n} ${n} ${n} ${n % 2 === 1 ? `u${n}` : 'undefined'}`);
    }
  } finally {
    await close(server);
  }
  for (const s of seen) {
    // Before its prototype is swapped a request has no `user` and its own prototype's
    // `fancy` (none); after, the getter of the swapped prototype answers until set.
    assert.strictEqual(s.before.user, false);
    assert.strictEqual(s.before.fancy, undefined);
    assert.strictEqual(s.fancyAfterSwap, 'from getter');
    assert.strictEqual(s.user, s.n % 2 === 1, `request ${s.n}`);
    assert.strictEqual(s.fancy, s.n === 15 ? 'set:x' : 'from getter', `request ${s.n}`);
  }
  // ringhttp: after a few requests the keys every request got are there from the start
  // (undefined until the app sets them); Node adds them one by one.
  assert.strictEqual(seen[19].before.next, IMPL !== 'node');
  assert.strictEqual(seen[0].before.next, false);
});

test('RINGHTTP_SHARED_SHAPES=0: no property is there before the app adds it', () => {
  // A child process: the switch is read when the module loads.
  const script = `
    const { http, listen, close, raw } = require(${JSON.stringify(path.join(__dirname, 'helpers'))});
    const proto = Object.create(http.IncomingMessage.prototype);
    const before = [];
    const server = http.createServer((req, res) => {
      before.push(Object.hasOwn(req, 'next'));
      Object.setPrototypeOf(req, proto);
      req.next = () => 1;
      res.end('ok');
    });
    (async () => {
      const port = await listen(server);
      for (let n = 0; n < 12; n++) {
        await raw(port, 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n');
      }
      await close(server);
      console.log(JSON.stringify(before));
    })();
  `;
  const out = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, RINGHTTP_SHARED_SHAPES: '0' },
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.strictEqual(out.status, 0, out.stderr);
  assert.deepStrictEqual(JSON.parse(out.stdout.trim().split('\n').pop()), Array(12).fill(false));
});
