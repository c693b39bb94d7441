// Creates the orchestrator's pino logger; secrets are redacted wherever they appear as fields.
import pino, { type Logger, type DestinationStream } from 'pino';

/** Field paths that may carry secrets; their values are never written. */
export const REDACTED_PATHS = [
  'anthropicApiKey',
  '*.anthropicApiKey',
  'apiKey',
  '*.apiKey',
  'ANTHROPIC_API_KEY',
  '*.ANTHROPIC_API_KEY',
  '*.*.ANTHROPIC_API_KEY',
  'ORCHESTRATOR_TOKEN',
  '*.ORCHESTRATOR_TOKEN',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'token',
  '*.token',
];

export interface LoggerOptions {
  level: string;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'orchestrator' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
