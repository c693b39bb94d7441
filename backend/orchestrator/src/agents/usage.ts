// Tallies an agent's tokens, turns and estimated cost from the SDK's assistant messages as they stream, so a run's spending shows while it works.
import type { Usage } from '@multiclaude/contract';

/** US dollars per million tokens. */
interface Price {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

// List prices by model family; the SDK's own total at the end of each session replaces the estimate.
const PRICES: Array<{ pattern: RegExp; price: Price }> = [
  { pattern: /opus-4-[5-9]|opus-[5-9]/, price: { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 } },
  { pattern: /opus/, price: { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 } },
  { pattern: /haiku-4|haiku-[5-9]/, price: { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 } },
  { pattern: /haiku/, price: { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 } },
];
// Sonnet's rates, as Claude Code prices a model it does not know (the offline model included).
const DEFAULT_PRICE: Price = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };

export interface TurnUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export function priceOf(model: string): Price {
  return PRICES.find((entry) => entry.pattern.test(model))?.price ?? DEFAULT_PRICE;
}

export function turnCost(model: string, usage: TurnUsage): number {
  const price = priceOf(model);
  const tokens =
    (usage.input_tokens ?? 0) * price.input +
    (usage.output_tokens ?? 0) * price.output +
    (usage.cache_read_input_tokens ?? 0) * price.cacheRead +
    (usage.cache_creation_input_tokens ?? 0) * price.cacheWrite;
  return tokens / 1_000_000;
}

export interface UsageTotals {
  usage: Usage;
  cost_usd: number;
  num_turns: number;
}

/**
 * Running totals over one session's model turns. The SDK streams one assistant message per content block,
 * each repeating its turn's usage (growing as the turn streams), so turns are keyed by message id and the
 * latest usage of each replaces the earlier.
 */
export class UsageTally {
  readonly #turns = new Map<string, { model: string; usage: TurnUsage }>();

  /** Takes an SDK message; returns the new totals when it was a model turn, undefined otherwise. */
  add(message: { type: string; message?: { id?: string; model?: string; usage?: TurnUsage | null } }): UsageTotals | undefined {
    if (message.type !== 'assistant' || !message.message?.usage) return undefined;
    const id = message.message.id ?? `turn-${this.#turns.size}`;
    this.#turns.set(id, { model: message.message.model ?? '', usage: message.message.usage });
    return this.totals();
  }

  totals(): UsageTotals {
    let input = 0;
    let output = 0;
    let cost = 0;
    for (const { model, usage } of this.#turns.values()) {
      input += usage.input_tokens ?? 0;
      output += usage.output_tokens ?? 0;
      cost += turnCost(model, usage);
    }
    return { usage: { input_tokens: input, output_tokens: output }, cost_usd: cost, num_turns: this.#turns.size };
  }
}

/** Two tallies added: an agent's earlier sessions and its current one. */
export function addTotals(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    usage: { input_tokens: a.usage.input_tokens + b.usage.input_tokens, output_tokens: a.usage.output_tokens + b.usage.output_tokens },
    cost_usd: a.cost_usd + b.cost_usd,
    num_turns: a.num_turns + b.num_turns,
  };
}
