// `tsc --strict` on the package's types, as a CommonJS user of 'ringhttp' writes them.
import ringhttp = require('ringhttp');

const server = ringhttp.createServer((req, res) => {
  res.statusCode = 404;
  res.end(`${req.method} ${req.url}`);
});
const backend: string | null = server.backend;
server.listen({ port: 0, host: '127.0.0.1' }, () => server.close());
ringhttp.validateHeaderName('x-ok');
// @ts-expect-error createServer takes a listener, not a string
ringhttp.createServer('nope');
export { backend };
