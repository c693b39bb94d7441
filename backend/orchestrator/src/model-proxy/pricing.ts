// What a model call costs, from the usage figures the Messages API reports: a small table of list prices per model family, Claude Sonnet's for any model it does not know.

/** Token counts as the Messages API reports them in `usage` (all optional: each event carries some). */
export interface TokenUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  /** Cache writes split by lifetime; one-hour writes cost twice the input price, five-minute ones 1.25×. */
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number };
}

/** US dollars per million tokens. */
export interface ModelPrices {
  input: number;
  output: number;
}

/** Claude Sonnet 4.x list prices: the default, also for models the table does not know. */
export const DEFAULT_PRICES: ModelPrices = { input: 3, output: 15 };

// First match wins; names as the API reports them (claude-opus-4-5-20251101, claude-3-5-haiku-20241022).
const PRICE_TABLE: Array<[RegExp, ModelPrices]> = [
  [/opus-(4-[5-9]|[5-9])/, { input: 5, output: 25 }],
  [/opus/, { input: 15, output: 75 }],
  [/haiku-4/, { input: 1, output: 5 }],
  [/3-5-haiku|haiku-3-5/, { input: 0.8, output: 4 }],
  [/3-haiku/, { input: 0.25, output: 1.25 }],
  [/sonnet/, DEFAULT_PRICES],
];

export function pricesFor(model: string | undefined): ModelPrices {
  if (!model) return DEFAULT_PRICES;
  return PRICE_TABLE.find(([pattern]) => pattern.test(model))?.[1] ?? DEFAULT_PRICES;
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);

/** The cost in US dollars of one response's usage. Cache reads cost a tenth of input. */
export function costOf(model: string | undefined, usage: TokenUsage): number {
  const prices = pricesFor(model);
  const cacheWrites = count(usage.cache_creation_input_tokens);
  const oneHourWrites = Math.min(cacheWrites, count(usage.cache_creation?.ephemeral_1h_input_tokens));
  const inputEquivalent =
    count(usage.input_tokens) + (cacheWrites - oneHourWrites) * 1.25 + oneHourWrites * 2 + count(usage.cache_read_input_tokens) * 0.1;
  return (inputEquivalent * prices.input + count(usage.output_tokens) * prices.output) / 1_000_000;
}
