// Makes run ids of the design's form `<YYYYMMDD_HHMMSS>_<8 hex>` (UTC) and checks them.
import { randomBytes } from 'node:crypto';

export const RUN_ID_PATTERN = /^\d{8}_\d{6}_[0-9a-f]{8}$/;

export function createRunId(now: Date = new Date(), random: () => Buffer = () => randomBytes(4)): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const date = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `${date}_${time}_${random().toString('hex').slice(0, 8)}`;
}

export function isRunId(value: string): boolean {
  return RUN_ID_PATTERN.test(value);
}

export function runDirectoryName(runId: string): string {
  return `run_${runId}`;
}
