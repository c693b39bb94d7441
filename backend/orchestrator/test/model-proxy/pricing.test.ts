import { test } from 'node:test';
import assert from 'node:assert/strict';
import { costOf, pricesFor, DEFAULT_PRICES } from '../../src/model-proxy/pricing.ts';
import { UsageMeter } from '../../src/model-proxy/usage-meter.ts';

test('models are priced by family, and an unknown model at Claude Sonnet prices', () => {
  assert.deepEqual(pricesFor('claude-sonnet-4-5-20250929'), { input: 3, output: 15 });
  assert.deepEqual(pricesFor('claude-opus-4-5-20251101'), { input: 5, output: 25 });
  assert.deepEqual(pricesFor('claude-opus-4-1-20250805'), { input: 15, output: 75 });
  assert.deepEqual(pricesFor('claude-haiku-4-5'), { input: 1, output: 5 });
  assert.deepEqual(pricesFor('claude-3-5-haiku-20241022'), { input: 0.8, output: 4 });
  assert.deepEqual(pricesFor('some-gateway-model'), DEFAULT_PRICES);
  assert.deepEqual(pricesFor(undefined), DEFAULT_PRICES);
});

test('cache writes cost 1.25× input (2× for one-hour writes) and cache reads a tenth', () => {
  assert.equal(costOf('claude-sonnet-4-5', { cache_creation_input_tokens: 1_000_000 }), 3.75);
  assert.equal(costOf('claude-sonnet-4-5', { cache_creation_input_tokens: 1_000_000, cache_creation: { ephemeral_1h_input_tokens: 1_000_000 } }), 6);
  assert.equal(costOf('claude-sonnet-4-5', { cache_read_input_tokens: 1_000_000 }).toFixed(4), '0.3000');
  assert.equal(costOf('claude-sonnet-4-5', { input_tokens: -5, output_tokens: Number.NaN }), 0, 'nonsense counts cost nothing');
});

test('the meter reads usage from SSE events split anywhere across chunks, later counts replacing earlier ones', () => {
  const stream =
    'event: message_start\r\ndata: {"type":"message_start","message":{"model":"claude-opus-4-5","usage":{"input_tokens":10,"output_tokens":1}}}\r\n\r\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"usage"}}\n\n' +
    'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":42,"cache_read_input_tokens":7}}\n\n';
  const meter = new UsageMeter('text/event-stream; charset=utf-8');
  for (let index = 0; index < stream.length; index += 13) meter.push(Buffer.from(stream.slice(index, index + 13)));
  meter.end();
  assert.equal(meter.model, 'claude-opus-4-5');
  assert.deepEqual(meter.usage, { input_tokens: 10, output_tokens: 42, cache_read_input_tokens: 7 });
});

test('the meter reads a JSON answer whole, and a stream cut off before its delta keeps what it saw', () => {
  const json = new UsageMeter('application/json');
  json.push(Buffer.from('{"model":"claude-haiku-4-5","usage":{"input_tokens":3,'));
  json.push(Buffer.from('"output_tokens":4}}'));
  json.end();
  assert.deepEqual([json.model, json.usage], ['claude-haiku-4-5', { input_tokens: 3, output_tokens: 4 }]);
  const cut = new UsageMeter('text/event-stream');
  cut.push(Buffer.from('data: {"type":"message_start","message":{"usage":{"input_tokens":9}}}'));
  cut.end();
  assert.deepEqual(cut.usage, { input_tokens: 9 });
});
