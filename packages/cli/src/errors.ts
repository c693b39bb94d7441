// The CLI's one error type: a stable code, a message that names the fix, the exit code it maps to, and the cause.

/** Exit codes: 0 success, 1 a failed run or operation, 2 bad usage (as commander and most shells expect). */
export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type CliErrorCode =
  | 'usage'
  | 'unreachable'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'queue_full'
  | 'bad_request'
  | 'unsupported'
  | 'server_error'
  | 'bad_answer'
  | 'embedded_start_failed'
  | 'stream_failed'
  | 'timeout'
  | 'interrupted'
  | 'git';

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: number;
  /** The HTTP status when the error is the orchestrator's answer. */
  readonly status: number | undefined;
  /** Extra structured detail for machine readers (the MCP server): conflicting files, Retry-After. */
  readonly detail: Record<string, unknown>;

  constructor(
    code: CliErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; exitCode?: number; detail?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.status = options.status;
    this.exitCode = options.exitCode ?? (code === 'usage' ? EXIT_USAGE : EXIT_FAILURE);
    this.detail = options.detail ?? {};
  }
}

/** A short description of any thrown value, for the last line a user sees. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
