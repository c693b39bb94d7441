// The load process for the API-under-load measure: autocannon at a fixed rate on each given path at once, from its own process so the client never shares the orchestrator's or the bench's event loop; prints one JSON line.
// Usage: node bench/load.ts --url http://127.0.0.1:P --path /health --path /runs/ID --rate 50 --seconds 8
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    path: { type: 'string', multiple: true },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '8' },
  },
});
const rate = Math.min(1_000, Math.max(1, Number(values.rate)));
const seconds = Math.min(120, Math.max(1, Number(values.seconds)));

async function load(pathName: string): Promise<Record<string, number>> {
  const result = await autocannon({
    url: `${values.url!}${pathName}`,
    connections: 2,
    overallRate: rate,
    duration: seconds,
    timeout: 5,
    // The rate is far below capacity, so a slow answer is a real one: record it as measured.
    ignoreCoordinatedOmission: true,
  });
  return {
    requests: result.requests.total,
    expected: rate * seconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.mean,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

const paths = values.path ?? ['/health'];
const results = await Promise.all(paths.map(load));
process.stdout.write(`${JSON.stringify(Object.fromEntries(paths.map((pathName, index) => [pathName, results[index]])))}\n`);
