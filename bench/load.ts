// The load process for the API-under-load measure: requests at a fixed rate on each given path at once, from its own process so the client never shares the orchestrator's or the bench's event loop; prints one JSON line.
// Usage: node bench/load.ts --url http://127.0.0.1:P --path /health --path /runs/ID --rate 50 --seconds 8 [--pattern paced|burst]
//
// paced (the default): one request every 1/rate s, each path on its own two keep-alive connections, as a client
// polling the API sends them. burst: autocannon's rate limit, which sends each second's requests back to back as
// fast as its connections allow and then waits for the next second (the figures before 2026-12-01 21:00 UTC).
import { Agent, request } from 'node:http';
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    path: { type: 'string', multiple: true },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '8' },
    pattern: { type: 'string', default: 'paced' },
  },
});
const rate = Math.min(1_000, Math.max(1, Number(values.rate)));
const seconds = Math.min(120, Math.max(1, Number(values.seconds)));
const TIMEOUT_MS = 5_000;
/** Answers slower than the API's 10 ms goal are listed with their time, to set beside the runs' events. */
const SLOW_MS = 10;

interface Outcome {
  requests: number;
  latencies: number[];
  /** [ms after the load started, latency ms] of each answer over SLOW_MS. */
  slow: Array<[number, number]>;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** How late the client itself sent its requests (its timers under the same CPU contention), p99 in ms. */
  lateP99?: number;
}

/** The bench's nearest-rank percentile, 0 when nothing was answered (as autocannon reported it). */
function percentileOrZero(values: number[], p: number): number {
  return values.length === 0 ? 0 : percentile(values, p);
}

function get(agent: Agent, url: URL): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { agent, timeout: TIMEOUT_MS }, (response) => {
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0 }));
      response.once('error', reject);
    });
    outgoing.once('timeout', () => outgoing.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    outgoing.once('error', reject);
    outgoing.end();
  });
}

async function paced(pathName: string, started: number): Promise<Outcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const url = new URL(pathName, values.url);
  const outcome: Outcome = { requests: 0, latencies: [], slow: [], errors: 0, timeouts: 0, non2xx: 0 };
  const late: number[] = [];
  const pending: Array<Promise<void>> = [];
  const interval = 1_000 / rate;
  for (let index = 0; index < rate * seconds; index++) {
    const due = started + index * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = performance.now();
    late.push(sent - due);
    pending.push(
      get(agent, url).then(
        ({ status }) => {
          const latency = performance.now() - sent;
          outcome.requests++;
          outcome.latencies.push(latency);
          if (latency > SLOW_MS) outcome.slow.push([Math.round(sent - started), Math.round(latency)]);
          if (status < 200 || status >= 300) outcome.non2xx++;
        },
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'TIMEOUT') outcome.timeouts++;
          else outcome.errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return { ...outcome, lateP99: percentileOrZero(late, 99) };
}

async function burst(pathName: string, started: number): Promise<Outcome> {
  const outcome: Outcome = { requests: 0, latencies: [], slow: [], errors: 0, timeouts: 0, non2xx: 0 };
  // Without a callback autocannon returns its event emitter made thenable; its types only name the promise.
  const instance = autocannon({
    url: `${values.url!}${pathName}`,
    connections: 2,
    overallRate: rate,
    duration: seconds,
    timeout: TIMEOUT_MS / 1_000,
    ignoreCoordinatedOmission: true,
  }) as unknown as EventEmitter & Promise<autocannon.Result>;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, latency: number) => {
    outcome.latencies.push(latency);
    if (latency > SLOW_MS) outcome.slow.push([Math.round(performance.now() - latency - started), Math.round(latency)]);
  });
  const result = await instance;
  return { ...outcome, requests: result.requests.total, errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx };
}

async function load(pathName: string): Promise<Record<string, unknown>> {
  const startedAt = Date.now();
  const outcome = await (values.pattern === 'burst' ? burst : paced)(pathName, performance.now());
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    pattern: values.pattern,
    requests: outcome.requests,
    expected: rate * seconds,
    p50: round(percentileOrZero(outcome.latencies, 50)),
    p90: round(percentileOrZero(outcome.latencies, 90)),
    p99: round(percentileOrZero(outcome.latencies, 99)),
    // A reduce, not Math.max(...latencies): up to 120,000 answers (1,000/s for 120 s) would overflow the call's arguments.
    max: round(outcome.latencies.reduce((most, value) => Math.max(most, value), 0)),
    mean: round(outcome.latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, outcome.latencies.length)),
    errors: outcome.errors,
    timeouts: outcome.timeouts,
    non2xx: outcome.non2xx,
    ...(outcome.lateP99 !== undefined ? { clientLateP99: round(outcome.lateP99) } : {}),
    startedAt,
    slow: outcome.slow,
  };
}

const paths = values.path ?? ['/health'];
const results = await Promise.all(paths.map(load));
process.stdout.write(`${JSON.stringify(Object.fromEntries(paths.map((pathName, index) => [pathName, results[index]])))}\n`);
