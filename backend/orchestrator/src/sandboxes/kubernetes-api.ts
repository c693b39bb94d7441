// Calls to the Kubernetes API with a deadline and an AbortSignal, and its errors in a sentence (the API server's own message, or why it could not be reached).
import { ApiException } from '@kubernetes/client-node';

/** Runs one API call; rejects when the deadline passes or the signal aborts (the request itself is left to finish). */
export async function callApi<T>(call: () => Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) throw new Error('cancelled');
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the Kubernetes API in ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    onAbort = () => reject(new Error('cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([call(), deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export const isNotFound = (error: unknown): boolean => statusCode(error) === 404;
export const isConflict = (error: unknown): boolean => statusCode(error) === 409;

/** The API server's message (a Status object's `message`), or the connection error, in one line. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    let message = '';
    const body: unknown = error.body;
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | undefined;
      if (typeof parsed?.message === 'string') message = parsed.message;
    } catch {
      message = typeof body === 'string' ? body.slice(0, 300) : '';
    }
    const meaning = error.code === 401 ? 'not authenticated' : error.code === 403 ? 'forbidden' : `HTTP ${error.code}`;
    return `${meaning}${message ? `: ${message}` : ''}`;
  }
  const failure = error as { message?: unknown; code?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = failure.cause?.code ?? failure.code;
  const message = String(failure.cause?.message ?? failure.message ?? error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
