// The API's front thread: listens on the orchestrator's address, answers /health and running runs' state itself from a mirror the main thread keeps current, and passes every other request to the app on the main thread unchanged.
// Plain JavaScript on node:http alone, started without tsx: this thread's heap stays small, so its own garbage collection is short.
import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ host: string, port: number, appPort: number, tokenDigest: Uint8Array | null, versionHeader: string }} */
const { host, port, appPort, tokenDigest, versionHeader } = workerData;
const parent = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);

/** Run id → its state's JSON, for the runs this process runs now (the main thread says which). */
const states = new Map();
/** The number of the newest mirror message applied here; an answer from the app waits for the number it carries. */
let applied = 0;
/** Answers held until the mirror has caught up with what they were written after. */
let waiting = [];

parent.on('message', (message) => {
  // The body's memory was handed over with the message: a view of it, not a copy.
  if (message.type === 'state') states.set(message.runId, Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength));
  else if (message.type === 'forget') states.delete(message.runId);
  else if (message.type === 'close') {
    // No new connections from now on; answers under way (an event stream) go on to their end, then the thread ends.
    server.close(() => {
      agent.destroy();
      parent.close();
    });
    server.closeIdleConnections();
    sendAccessLines();
    parent.postMessage({ type: 'stopped' });
    return;
  }
  applied = Math.max(applied, message.version ?? 0);
  const ready = waiting.filter((entry) => entry.version <= applied);
  if (ready.length === 0) return;
  waiting = waiting.filter((entry) => entry.version > applied);
  for (const entry of ready) entry.release();
});

const JSON_HEADERS = { 'content-type': 'application/json' };
const HEALTH = Buffer.from('{"status":"ok"}');
const RUN_PATH = /^\/runs\/([^/]+)$/;
// Hop-by-hop headers belong to one connection, not to the request or answer passed on (RFC 9110 §7.6.1).
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

function withoutHopByHop(headers) {
  const copy = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

/** The same check as the app's bearer auth (http/auth.ts), on digests so nothing leaks through timing. */
function authorized(request) {
  if (!tokenDigest) return true;
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return false;
  return timingSafeEqual(createHash('sha256').update(match[1].trim()).digest(), tokenDigest);
}

/** What this thread answers itself; anything else, refusals included, is the app's to answer. */
function ownAnswer(request) {
  if (request.method !== 'GET') return undefined;
  const path = request.url.split('?', 1)[0];
  if (path === '/health') return { path, body: HEALTH };
  const run = RUN_PATH.exec(path);
  const body = run && states.get(run[1]);
  return body && authorized(request) ? { path, body } : undefined;
}

const agent = new http.Agent({ keepAlive: true });

function passOn(request, response) {
  const upstream = http.request(
    { host: '127.0.0.1', port: appPort, method: request.method, path: request.url, headers: withoutHopByHop(request.headers), agent },
    (answer) => {
      const version = Number(answer.headers[versionHeader] ?? 0);
      const headers = withoutHopByHop(answer.headers);
      delete headers[versionHeader];
      const send = () => {
        response.writeHead(answer.statusCode ?? 502, headers);
        // A stream's headers go out at once, as the app sends them, not with its first event.
        response.flushHeaders();
        answer.pipe(response);
      };
      // A client that has just written (a run submitted, cancelled) reads what it wrote in its next poll.
      if (version <= applied) send();
      else waiting.push({ version, release: send });
    },
  );
  upstream.on('error', (error) => {
    if (response.headersSent) return void response.destroy();
    response.writeHead(502, JSON_HEADERS);
    response.end(JSON.stringify({ error: `the orchestrator's API did not answer: ${error.message}` }));
  });
  // A client that goes away (an event stream closed) closes its request to the app too.
  response.once('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.pipe(upstream);
}

const server = http.createServer((request, response) => {
  const started = performance.now();
  const own = ownAnswer(request);
  if (!own) return passOn(request, response);
  response.writeHead(200, { ...JSON_HEADERS, 'content-length': own.body.length });
  response.end(own.body);
  logAccess({ method: 'GET', path: own.path, status: 200, duration_ms: Math.round(performance.now() - started) });
});

/** Access lines of this thread's own answers, sent to the main thread (which writes the log) ten times a second at most. */
let accessLines = [];
function logAccess(line) {
  accessLines.push(line);
  if (accessLines.length === 1) setTimeout(sendAccessLines, 100).unref();
}
function sendAccessLines() {
  if (accessLines.length > 0) parent.postMessage({ type: 'access', lines: accessLines });
  accessLines = [];
}
// Runs are long: no timeout may cut POST /orchestrate off (as the app's own server was set).
server.setTimeout(0);
server.requestTimeout = 0;
server.on('error', (error) => parent.postMessage({ type: 'error', code: error.code, message: error.message }));
server.listen(port, host, () => parent.postMessage({ type: 'listening', port: server.address().port }));
