'use strict';
// Request bodies that arrive whole with their head (ringhttp hands them to JS with the
// request, no 'data'/'end' events from the addon): every way of reading them behaves as
// in Node, also when many are pipelined in one write and when one arrives in parts.
const test = require('node:test');
const assert = require('assert');
const { http, listen, close, raw } = require('./helpers');

const IMPL = process.env.RINGHTTP_IMPL || 'ringhttp';

function post(url, body, extra = '') {
  return `POST ${url} HTTP/1.1\r\nHost: a\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

// The replies' bodies, in order (each answer is short, with Content-Length).
function bodies(text) {
  const out = [];
  const re = /Content-Length: (\d+)\r\n(?:[^\r]*\r\n)*?\r\n/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    out.push(text.substr(re.lastIndex, +m[1]));
    re.lastIndex += +m[1];
  }
  return out;
}

function sum(buf) {
  let h = 0;
  for (const b of buf) h = (h * 31 + b) >>> 0;
  return h;
}

function handler(req, res) {
  const done = (s) => res.end(s);
  const early = req.complete;
  const u = req.url;
  if (u === '/data') {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => done(`${early}|${req.complete}|${Buffer.concat(parts)}`));
  } else if (u === '/read') {
    let s = '';
    req.on('readable', () => { let c; while ((c = req.read()) !== null) s += c; });
    req.on('end', () => done(s));
  } else if (u === '/pause') {
    let s = '';
    req.pause();
    req.on('data', (c) => { s += c; });
    req.on('end', () => done(`${s}|${req.readableEnded}`));
    setTimeout(() => req.resume(), 20);
  } else if (u === '/late') {
    setTimeout(async () => {
      let s = '';
      for await (const c of req) s += c;
      done(s);
    }, 20);
  } else if (u === '/pipe') {
    req.pipe(res);
  } else if (u === '/enc') {
    req.setEncoding('latin1');
    let s = '';
    req.on('data', (c) => { s += typeof c + ':' + c; });
    req.on('end', () => done(s));
  } else if (u === '/sum') {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => { const b = Buffer.concat(parts); done(`${b.length}:${sum(b)}`); });
  } else {
    done('ignored');
  }
}

test('whole small bodies: data/end, readable+read(), pause/resume, late async iteration, pipe, setEncoding', async () => {
  const s = http.createServer(handler);
  const port = await listen(s);
  const reqs = [
    post('/data', 'hello'),
    post('/read', 'abc'),
    post('/pause', 'paused'),
    post('/late', 'later'),
    post('/pipe', 'piped'),
    post('/enc', 'x\u00e9y'),
    post('/ignored', 'nobody reads this'),
    'POST /data HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /data HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n',
    post('/data', 'last', 'Connection: close\r\n'),
  ];
  const out = await raw(port, reqs.join(''));
  const got = bodies(out.replace(/Transfer-Encoding: chunked\r\n\r\n5\r\npiped\r\n0\r\n\r\n/, 'Content-Length: 5\r\n\r\npiped'));
  assert.deepStrictEqual(got, [
    'false|true|hello', 'abc', 'paused|true', 'later', 'piped', 'string:x\u00c3\u0083\u00c2\u00a9y', 'ignored',
    'false|true|', 'false|true|abc', 'false|true|last',
  ]);
  await close(s);
});

test('whole bodies pipelined past a chunk pool (24 x 8000 bytes in one write), and one body in parts', async () => {
  const s = http.createServer(handler);
  const port = await listen(s);
  const reqs = [];
  const want = [];
  for (let i = 0; i < 24; i++) {
    const b = Buffer.alloc(8000, String.fromCharCode(97 + i));
    reqs.push(post('/sum', b.toString('latin1')));
    want.push(`8000:${sum(b)}`);
  }
  const got = bodies(await raw(port, reqs.join('') + post('/data', 'end', 'Connection: close\r\n')));
  assert.deepStrictEqual(got, [...want, 'false|true|end']);
  const parts = await raw(port, [
    'POST /data HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello', 'world',
  ]);
  assert.deepStrictEqual(bodies(parts), ['false|true|helloworld']);
  await close(s);
});

// A whole body read the simple way (on('data') first) is emitted without the stream state;
// anything else the handler does with the stream takes over where the light path stood.
function lightHandler(req, res) {
  const ev = [];
  const done = () => res.end(ev.join(','));
  process.nextTick(() => ev.push('tick'));
  const u = req.url;
  if (u === '/l-ticks') {
    req.on('data', (c) => { ev.push('data' + c.length); process.nextTick(() => ev.push('dtick')); });
    req.on('error', () => ev.push('error'));
    req.on('aborted', () => ev.push('aborted'));
    req.on('end', () => {
      ev.push('end');
      // ringhttp's light path: the stream state was never needed.
      if (IMPL !== 'node' && Object.prototype.hasOwnProperty.call(req, '_readableState')) ev.push('state built');
      Promise.resolve().then(done);
    });
  } else if (u === '/l-once') {
    req.on('data', (c) => ev.push('data' + c.length));
    req.once('end', () => {
      ev.push('end');
      setImmediate(() => { ev.push(`${req.readableEnded}/${req.readable}/${req.readableFlowing}`); done(); });
    });
  } else if (u === '/l-enc') {
    req.on('data', (c) => ev.push(typeof c + ':' + c));
    req.setEncoding('latin1');
    req.on('end', () => { ev.push('end'); done(); });
  } else if (u === '/l-mid') {
    req.on('data', (c) => ev.push(`data${c.length}/${req.readable}/${req.readableEnded}`));
    req.on('end', () => { ev.push(`end/${req.readableEnded}`); done(); });
  } else if (u === '/l-after') {
    req.on('data', (c) => ev.push('data' + c.length));
    req.on('end', () => ev.push('end'));
    setTimeout(() => {
      ev.push(`${req.readableEnded}/${req.readable}/${req.readableFlowing}/${req.readableLength}`);
      req.on('data', () => ev.push('late data'));
      req.on('end', () => ev.push('late end'));
      setTimeout(done, 10);
    }, 20);
  } else if (u === '/l-remove') {
    const f2 = () => ev.push('f2');
    req.on('data', (c) => ev.push('f1:' + c));
    req.on('data', f2);
    req.removeListener('data', f2);
    req.on('end', () => { ev.push('end'); done(); });
  } else if (u === '/l-pipe') {
    const { PassThrough } = require('stream');
    const pt = new PassThrough();
    req.on('data', (c) => ev.push('data' + c.length));
    req.pipe(pt);
    const parts = [];
    pt.on('data', (c) => parts.push(c));
    pt.on('end', () => { ev.push('piped:' + Buffer.concat(parts)); done(); });
  } else if (u === '/l-iter') {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    (async () => {
      let s = '';
      for await (const c of req) s += c;
      res.end(`data${n},iter:${s}`);
    })();
  }
}

test('whole bodies read with on(\'data\') first: ticks, once, late setEncoding/pipe/iteration, stream state after', async () => {
  const s = http.createServer(lightHandler);
  const port = await listen(s);
  const names = ['/l-ticks', '/l-once', '/l-enc', '/l-mid', '/l-after', '/l-remove', '/l-pipe', '/l-iter'];
  const reqs = names.map((u, i) => post(u, 'body' + i, i === names.length - 1 ? 'Connection: close\r\n' : ''));
  const want = [
    'tick,data5,dtick,end',
    'tick,data5,end,true/false/true',
    'tick,string:body2,end',
    'tick,data5/true/false,end/true',
    'tick,data5,end,true/false/true/0',
    'tick,f1:body5,end',
    'tick,data5,piped:body6',
    'data5,iter:body7',
  ];
  // Pipelined in one write, and each on its own connection.
  assert.deepStrictEqual(bodies(await raw(port, reqs.join(''))), want);
  for (let i = 0; i < names.length; i++) {
    const one = post(names[i], 'body' + i, 'Connection: close\r\n');
    assert.deepStrictEqual(bodies(await raw(port, one)), [want[i]], names[i]);
  }
  await close(s);
});

test('body chunks JS keeps stay intact while the pools of collected ones are reused', async () => {
  const v8 = require('v8');
  const vm = require('vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const kept = [];
  const s = http.createServer((req, res) => {
    const n = +req.url.slice(1);
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      if (n % 37 === 0) kept.push([n, parts]);
      res.end(String(Buffer.concat(parts).length));
    });
  });
  const port = await listen(s);
  const content = (n) => Buffer.alloc(1000, String.fromCharCode(97 + (n % 26))).toString('latin1') + n;
  let n = 0;
  for (let round = 0; round < 6; round++) {
    const reqs = [];
    for (let i = 0; i < 300; i++, n++) reqs.push(post(`/${n}`, content(n), i === 299 ? 'Connection: close\r\n' : ''));
    const got = bodies(await raw(port, reqs.join('')));
    assert.strictEqual(got.length, 300);
    // Collected pools go back to the addon on a later turn (their finalizers are deferred).
    gc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(kept.length > 40);
  for (const [k, parts] of kept) assert.strictEqual(Buffer.concat(parts).toString('latin1'), content(k), `body ${k}`);
  await close(s);
});
