// Creates the orchestrator's pino logger; secrets are censored both as known fields and wherever their values appear in a line.
import pino, { type Logger, type DestinationStream, type LoggerOptions as PinoOptions } from 'pino';
import pretty from 'pino-pretty';
import { CENSOR, REDACTED_PATHS, createSecretScrubber } from './logging/redaction.ts';

export { REDACTED_PATHS };

export interface LoggerOptions {
  level: string;
  /** Where the JSON lines go; stdout when omitted. */
  destination?: DestinationStream;
  /** Values (the API key, tokens) that must never be written, whichever field or message holds them. */
  secrets?: ReadonlyArray<string | undefined>;
}

/** The pino options every orchestrator logger shares, whatever its destinations. */
export function baseLoggerOptions(level: string, secrets: ReadonlyArray<string | undefined> = []): PinoOptions {
  const scrub = createSecretScrubber(secrets);
  return {
    level,
    base: { service: 'orchestrator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    // The finished line, after serializers and redaction: the one place that sees a key inside any text.
    hooks: { streamWrite: scrub },
  };
}

/**
 * Where stdout lines go, the one place that decides: JSON lines for machines (a pipe, a file, `kubectl logs`),
 * the same lines made readable by pino-pretty when a person watches a terminal. Secrets are scrubbed before either.
 */
export function stdoutDestination(): DestinationStream {
  if (process.stdout.isTTY) {
    // Synchronous, so the last lines before an exit are not lost in a buffer.
    // Colours unless NO_COLOR says otherwise (pino-pretty's default, through colorette).
    return pretty({ destination: 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
  }
  return pino.destination({ dest: 1, sync: false });
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(baseLoggerOptions(options.level, options.secrets), options.destination ?? stdoutDestination());
}

export type { Logger };
