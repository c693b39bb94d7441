// Reads a Messages API response as it streams past, without holding it back, and keeps the model and usage it reports: from message_start and message_delta events of an SSE stream, or from a JSON body's `usage`.
import { StringDecoder } from 'node:string_decoder';
import type { TokenUsage } from './pricing.ts';

/** A JSON (non-streamed) answer is parsed for its usage only up to this size; a real one is far smaller. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

export class UsageMeter {
  model: string | undefined;
  readonly usage: TokenUsage = {};
  readonly #streamed: boolean;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';
  #jsonBytes = 0;

  constructor(contentType: string | undefined) {
    this.#streamed = (contentType ?? '').includes('text/event-stream');
  }

  /** Called with each chunk as it is forwarded. */
  push(chunk: Buffer): void {
    if (!this.#streamed) {
      this.#jsonBytes += chunk.length;
      if (this.#jsonBytes <= MAX_JSON_BYTES) this.#pending += this.#decoder.write(chunk);
      return;
    }
    this.#pending += this.#decoder.write(chunk);
    // Only whole events are read; the unfinished tail waits for the next chunk.
    let boundary = this.#pending.search(/\r?\n\r?\n/);
    while (boundary >= 0) {
      this.#readEvent(this.#pending.slice(0, boundary));
      this.#pending = this.#pending.slice(boundary).replace(/^\r?\n\r?\n/, '');
      boundary = this.#pending.search(/\r?\n\r?\n/);
    }
  }

  /** Called once the response has ended (or was cut off): reads a JSON body, or the stream's last event. */
  end(): void {
    this.#pending += this.#decoder.end();
    if (this.#streamed) {
      if (this.#pending.trim()) this.#readEvent(this.#pending);
    } else if (this.#jsonBytes <= MAX_JSON_BYTES) {
      this.#take(parseJson(this.#pending));
    }
    this.#pending = '';
  }

  #readEvent(event: string): void {
    // Text deltas are most of a stream and carry no usage: skip them unparsed.
    if (!event.includes('"usage"')) return;
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n');
    const parsed = parseJson(data) as { type?: string; message?: unknown; usage?: unknown } | undefined;
    if (parsed?.type === 'message_start') this.#take(parsed.message);
    else if (parsed?.type === 'message_delta') this.#take(parsed);
  }

  /** Later figures replace earlier ones: message_delta's counts are cumulative. */
  #take(holder: unknown): void {
    if (!holder || typeof holder !== 'object') return;
    const { model, usage } = holder as { model?: unknown; usage?: unknown };
    if (typeof model === 'string') this.model = model;
    if (!usage || typeof usage !== 'object') return;
    for (const [key, value] of Object.entries(usage)) {
      if (typeof value === 'number' || (key === 'cache_creation' && value && typeof value === 'object')) {
        (this.usage as Record<string, unknown>)[key] = value;
      }
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
