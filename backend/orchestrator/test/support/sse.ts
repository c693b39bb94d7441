// Reads a Server-Sent Events response into parsed run events, with the eventsource-parser library.
import { createParser } from 'eventsource-parser';
import type { RunEvent } from '@multiclaude/contract';

export interface ReceivedEvent {
  id: string | undefined;
  event: string | undefined;
  data: RunEvent;
  receivedAt: number;
}

/** Reads until the stream closes (the server closes it after `run_finished`). */
export async function readEvents(response: Response, onEvent?: (event: ReceivedEvent) => void): Promise<ReceivedEvent[]> {
  const events: ReceivedEvent[] = [];
  const parser = createParser({
    onEvent: (message) => {
      const event = { id: message.id, event: message.event, data: JSON.parse(message.data) as RunEvent, receivedAt: Date.now() };
      events.push(event);
      onEvent?.(event);
    },
  });
  const decoder = new TextDecoder();
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  return events;
}
