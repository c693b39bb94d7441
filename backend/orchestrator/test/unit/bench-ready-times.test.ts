// The bench's reading of a ready sandbox (measure 10, bench/measures/cluster.ts) from a run's events: which event counts, by which clock, and an agent without one named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyTimes } from '../../../../bench/measures/cluster.ts';
import type { ReceivedEvent } from '../../../../bench/lib/orchestrator.ts';

const sentAt = Date.parse('2026-12-01T18:00:00.000Z');
const status = (agentId: number, at: string, arrivedAfterMs: number, detail?: string): ReceivedEvent => ({
  type: 'agent_status',
  at: sentAt + arrivedAfterMs,
  data: { agent_id: agentId, status: 'running', at: `2026-12-01T18:00:${at}Z`, ...(detail ? { detail } : {}) },
});

test("an agent's ready sandbox is its first running event without detail after 'starting its sandbox', timed by the event's own time", () => {
  const events: ReceivedEvent[] = [
    status(1, '00.100', 150),
    status(2, '00.050', 60),
    status(1, '00.200', 210, 'starting its sandbox'),
    status(2, '00.210', 220, 'starting its sandbox'),
    { type: 'agent_text', at: sentAt + 400, data: { agent_id: 1, text: 'hello', at: '2026-12-01T18:00:00.390Z' } },
    status(2, '00.700', 760),
    status(1, '01.500', 1_530),
    status(1, '02.000', 2_010),
  ];
  assert.deepEqual(readyTimes(events, sentAt, 2), { readyMs: [1_500, 700], arrivalMs: [1_530, 760], startingMs: [200, 210] });
});

test('an agent that never reported a ready sandbox is an error naming it', () => {
  const events = [status(1, '00.200', 210, 'starting its sandbox'), status(1, '00.900', 910)];
  assert.throws(() => readyTimes(events, sentAt, 2), /agent 2 never reported a ready sandbox/);
});
