'use strict';
// One server per response shape, for the benchmark matrix (matrix.py). SHAPE picks the
// handler; IMPL=node serves it from Node's own http instead of ringhttp. PORT as in the
// shared ruler (127.0.0.1 only).
const { HELLO, HELLO_BUF, JSON16K, BODY64K, CHUNKS } = require('./bodies');

const http = process.env.IMPL === 'node' ? require('http') : require('..');
const port = +(process.env.PORT || 8080);

// dyn_json's request counter: its body and one header differ on every response.
let seq = 0;

const SHAPES = {
  // writeHead with an object, Content-Length included (what frameworks send).
  head_obj(req, res) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 13, Server: 'p' });
    res.end(HELLO);
  },
  // writeHead with an array of [name, value] pairs.
  head_arr(req, res) {
    res.writeHead(200, [['Content-Type', 'text/plain'], ['Content-Length', '13'], ['Server', 'p']]);
    res.end(HELLO);
  },
  // setHeader x3, then end(text).
  set3(req, res) {
    res.setHeader('Content-Type', 'text/plain');
    res.setHeader('Content-Length', 13);
    res.setHeader('Server', 'p');
    res.end(HELLO);
  },
  // statusCode write, end(Buffer).
  code_buf(req, res) {
    res.statusCode = 200;
    res.end(HELLO_BUF);
  },
  // A 16 KiB JSON string.
  json16k(req, res) {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON16K);
  },
  // res.write x3 + end(): chunked.
  chunked3(req, res) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(CHUNKS[0]);
    res.write(CHUNKS[1]);
    res.write(CHUNKS[2]);
    res.end();
  },
  // A 64 KiB Buffer.
  body64k(req, res) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(BODY64K);
  },
  // A small JSON API answer that differs on every response (body, Content-Length and a
  // request id header): what real handlers send, where no kept header set or body string
  // can stand in for the response.
  dyn_json(req, res) {
    seq++;
    const body = JSON.stringify({ id: seq, path: req.url, ok: true });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': String(seq) });
    res.end(body);
  },
  // Read a request body (1 KiB in the matrix), then answer.
  post1k(req, res) {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Received': String(n) });
      res.end(HELLO);
    });
  },
};

const shape = process.env.SHAPE || 'head_obj';
const handler = SHAPES[shape];
if (!handler) {
  console.error(`unknown SHAPE ${shape}; one of ${Object.keys(SHAPES).join(', ')}`);
  process.exit(2);
}
http.createServer(handler).listen(port, '127.0.0.1');
