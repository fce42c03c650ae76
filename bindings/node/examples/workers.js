// One ringhttp server per worker thread, all on the same port (SO_REUSEPORT): the kernel
// spreads connections over the threads, each running its own shard on its own libuv loop.
//   node examples/workers.js [threads]   (PORT env, default 8080)
const { Worker, isMainThread, threadId } = require('worker_threads');
const os = require('os');

if (isMainThread) {
  const n = +(process.argv[2] || os.availableParallelism?.() || os.cpus().length);
  for (let i = 0; i < n; i++) new Worker(__filename);
  console.log(`${n} workers on port ${process.env.PORT || 8080}`);
} else {
  const http = require('..');
  const port = +(process.env.PORT || 8080);
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`Hello from thread ${threadId}\n`);
  });
  // reusePort: every worker joins the port (without it the second listen is EADDRINUSE).
  server.listen({ port, host: '127.0.0.1', reusePort: true }, () =>
    console.log(`thread ${threadId}: ${server.backend}`));
}
