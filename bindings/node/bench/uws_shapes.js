'use strict';
// uWebSockets.js serving the bytes of the bigger-body shapes of shapes.js (SHAPE), the
// peer each is compared to. Needs the uWS package: NODE_PATH=<bench js dir>/node_modules
// (matrix.py sets it).
const uWS = require('@trufflesuite/uws-js-unofficial');
const { HELLO, JSON16K, BODY64K, CHUNKS } = require('./bodies');

const port = +(process.env.PORT || 8080);

let seq = 0;

const SHAPES = {
  json16k(res) {
    res.writeHeader('Content-Type', 'application/json').end(JSON16K);
  },
  chunked3(res) {
    res.writeHeader('Content-Type', 'text/plain');
    res.write(CHUNKS[0]);
    res.write(CHUNKS[1]);
    res.write(CHUNKS[2]);
    res.end();
  },
  body64k(res) {
    res.writeHeader('Content-Type', 'application/octet-stream').end(BODY64K);
  },
  // The same bytes as shapes.js's dyn_json (uWS writes the Content-Length).
  dyn_json(res, req) {
    seq++;
    const body = JSON.stringify({ id: seq, path: req.getUrl(), ok: true });
    res.writeHeader('Content-Type', 'application/json').writeHeader('X-Request-Id', String(seq)).end(body);
  },
  post1k(res) {
    let n = 0;
    res.onAborted(() => { res.aborted = true; });
    res.onData((ab, last) => {
      n += ab.byteLength;
      if (last && !res.aborted) {
        res.cork(() => {
          res.writeHeader('Content-Type', 'text/plain').writeHeader('X-Received', String(n)).end(HELLO);
        });
      }
    });
  },
};

const shape = process.env.SHAPE || 'json16k';
const handler = SHAPES[shape];
if (!handler) {
  console.error(`unknown SHAPE ${shape}; one of ${Object.keys(SHAPES).join(', ')}`);
  process.exit(2);
}
uWS.App().any('/*', (res, req) => handler(res, req)).listen('127.0.0.1', port, (t) => {
  if (!t) {
    console.error('listen failed');
    process.exit(1);
  }
});
