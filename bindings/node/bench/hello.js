// ringhttp's Node binding: the same server as node_http.js, on require('ringhttp').
const http = require('..');
const port = +(process.env.PORT || 8080);
http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello, World!');
}).listen(port, '127.0.0.1');
