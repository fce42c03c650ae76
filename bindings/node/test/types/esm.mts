// `tsc --strict` on the package's types, as an ESM user of 'ringhttp' writes them.
import * as http from 'node:http';
import ringhttp, { createServer, Server, IncomingMessage, ServerResponse, STATUS_CODES } from 'ringhttp';
import type { ServerOptions } from 'ringhttp';

const options: ServerOptions = { keepAliveTimeout: 1000, backend: 'epoll' };
const server: Server = createServer(options, (req: IncomingMessage, res: ServerResponse) => {
  const agent: string | undefined = req.headers['user-agent'];
  res.setHeader('Content-Type', 'text/plain');
  res.writeHead(200, STATUS_CODES[200]).end(agent ?? req.url);
});
createServer().listen({ port: 0, host: '127.0.0.1', reusePort: true }, () => {});
server.listen(0, () => {
  const backend: 'io_uring' | 'epoll' | null = server.backend;
  const requests: number | undefined = server.stats()?.responses['2xx'];
  const addr = server.address();
  if (addr && typeof addr === 'object') console.log(addr.port, backend, requests);
  server.close();
});
// @ts-expect-error backend is read-only
server.backend = 'epoll';
// @ts-expect-error not a backend ringhttp has
createServer({ backend: 'kqueue' });

// A handler written for node:http (as an Express app is) fits ringhttp's createServer, and
// ringhttp's objects go where node:http's are expected.
const nodeHandler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.end(req.method);
};
const other = ringhttp.createServer(nodeHandler);
const asNode: http.Server = other;
asNode.on('request', (req: http.IncomingMessage) => req.resume());
other.on('upgrade', (req, socket, head: Buffer) => socket.end(head));
