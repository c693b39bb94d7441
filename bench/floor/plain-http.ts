// The API floor: a plain node:http server that answers GET /health and GET /runs/<id> with fixed bodies of the same size as ours, with no framework, routing or state behind it.
// Usage: node bench/floor/plain-http.ts <run-body-file>   (prints {"url": ...} once listening)
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

const runBody = readFileSync(process.argv[2]!, 'utf8');
const healthBody = JSON.stringify({ status: 'ok' });

const server = http.createServer((request, response) => {
  const body = request.url === '/health' ? healthBody : runBody;
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
