// Follows a run's event stream (GET /runs/:id/events, SSE) as parsed RunEvents, resuming with Last-Event-ID after a dropped connection, until run_finished.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { RunEventSchema, type RunEvent } from '@multiclaude/contract';
import type { OrchestratorClient } from './client.ts';
import { CliError } from './errors.ts';

export interface FollowOptions {
  /** Resume after this event id (0: the whole history). */
  after?: number;
  signal?: AbortSignal;
  /** Reconnections allowed in a row without receiving an event. */
  maxReconnects?: number;
}

const RECONNECT_DELAY_MS = 500;

/** Yields every event after `after`, in order, until the run's last event; reconnects where it left off when the connection drops. */
export async function* followEvents(client: OrchestratorClient, runId: string, options: FollowOptions = {}): AsyncGenerator<RunEvent> {
  let lastId = options.after ?? 0;
  let failures = 0;
  const maxReconnects = options.maxReconnects ?? 5;
  for (;;) {
    let finished = false;
    let received = false;
    try {
      // No deadline on the stream itself: a run may take many minutes; the caller's signal ends it.
      const response = await client.send('GET', `/runs/${encodeURIComponent(runId)}/events`, {
        accept: 'text/event-stream',
        timeoutMs: 2 ** 31 - 1,
        headers: { 'last-event-id': String(lastId) },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!response.body) throw new CliError('stream_failed', `the event stream of run ${runId} has no body`);
      const pending: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (message) => pending.push(message) });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        while (pending.length > 0) {
          const message = pending.shift()!;
          const event = parseEvent(message, runId);
          if (event.id <= lastId) continue;
          lastId = event.id;
          received = true;
          yield event;
          if (event.type === 'run_finished') finished = true;
        }
        if (finished) break;
      }
      if (finished) return;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // Answers (404, 401) are final; only a dropped or refused connection is worth another try.
      if (error instanceof CliError && error.code !== 'unreachable' && error.code !== 'stream_failed') throw error;
      if (!(error instanceof CliError) && !(error instanceof TypeError) && (error as { name?: string }).name !== 'AbortError') throw error;
    }
    failures = received ? 0 : failures + 1;
    if (failures > maxReconnects) {
      throw new CliError('stream_failed', `lost the event stream of run ${runId} after event ${lastId}: resume with \`multiclaude logs ${runId} --after ${lastId}\``);
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS * Math.max(1, failures)));
  }
}

function parseEvent(message: EventSourceMessage, runId: string): RunEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(message.data);
  } catch (error) {
    throw new CliError('bad_answer', `run ${runId}: an event that is not JSON: ${message.data.slice(0, 200)}`, { cause: error });
  }
  const parsed = RunEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CliError('bad_answer', `run ${runId}: an event that does not match the API (${parsed.error.issues[0]?.message ?? 'invalid'}): is the orchestrator a different version?`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
