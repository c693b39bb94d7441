// The run service's errors: a code an entry point maps to its own answer (HTTP status, CLI exit, MCP error), a message for people, and the request field at fault.
import { SourceError, type SourceErrorCode } from '../git/source.ts';

export type ServiceErrorCode =
  | 'invalid_request'
  | 'unsupported_media_type'
  | 'too_large'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'queue_full'
  | 'insufficient_storage'
  | 'bad_gateway';

export interface ServiceErrorOptions {
  field?: string;
  /** For queue_full: when to try again. */
  retryAfterSeconds?: number;
  /** Extra fields of the answer, e.g. `conflicting_files` of a refused merge. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class ServiceError extends Error {
  readonly code: ServiceErrorCode;
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ServiceErrorCode, message: string, options: ServiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details ?? {};
  }
}

const SOURCE_ERROR_CODES: Record<SourceErrorCode, ServiceErrorCode> = {
  invalid_source: 'invalid_request',
  not_allowed: 'invalid_request',
  unreadable: 'invalid_request',
  ref_not_found: 'invalid_request',
  push_exists: 'conflict',
  push_failed: 'bad_gateway',
};

/** A source's refusal as the service's: a bad source is the request's fault (4xx), a failed push the remote's (502). */
export function fromSourceError(error: unknown): unknown {
  if (!(error instanceof SourceError)) return error;
  return new ServiceError(SOURCE_ERROR_CODES[error.code], error.message, { ...(error.field ? { field: error.field } : {}), cause: error });
}

export function runNotFound(runId: string): ServiceError {
  return new ServiceError('not_found', `no run ${runId}`);
}

/** Whether an error is the file system saying it is full (ENOSPC, EDQUOT, SQLite's SQLITE_FULL, or git's words for it). */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // SQLite says SQLITE_FULL ("database or disk is full") where the file system said ENOSPC.
  return (
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    code === 'SQLITE_FULL' ||
    /No space left on device|Disk quota exceeded|database or disk is full/i.test(String((error as Error | undefined)?.message ?? ''))
  );
}
