// The per-agent credentials the model proxy accepts: a random token per agent run, scoped to its run and agent, with that agent's budget and spend, revoked when the agent ends.
import { createHash, randomBytes } from 'node:crypto';
import { costOf, type TokenUsage } from './pricing.ts';

export interface GrantScope {
  runId: string;
  agentId: number;
  /** The agent's share of the run's budget_usd; no cap when absent. */
  budgetUsd?: number;
}

/** What an agent holds while it runs. */
export interface ModelGrant {
  /** Given to the agent's `claude` as its API key; worthless once revoked. */
  readonly token: string;
  readonly scope: GrantScope;
  /** US dollars spent so far, priced from the API's own usage figures. */
  readonly spentUsd: number;
  /** Requests refused because the budget was spent. */
  readonly refusals: number;
  /** Whether the budget is spent: further requests are refused. */
  readonly budgetReached: boolean;
  /** Ends the token; idempotent. */
  revoke(): void;
}

class Grant implements ModelGrant {
  spentUsd = 0;
  refusals = 0;
  readonly token: string;
  readonly scope: GrantScope;
  readonly #onRevoke: () => void;

  constructor(token: string, scope: GrantScope, onRevoke: () => void) {
    this.token = token;
    this.scope = scope;
    this.#onRevoke = onRevoke;
  }

  get budgetReached(): boolean {
    return this.scope.budgetUsd !== undefined && this.spentUsd >= this.scope.budgetUsd;
  }

  revoke(): void {
    this.#onRevoke();
  }
}

export type AdmissionResult = { admitted: true; grant: Grant } | { admitted: false; reason: 'unknown_token' } | { admitted: false; reason: 'budget_reached'; grant: Grant };

/** Tokens are looked up by their hash, so a map lookup's timing says nothing about a token's characters. */
const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * A token made before its agent is known, for a warm spare session whose environment is fixed when its
 * process starts: worthless (the proxy refuses it) until activated with the agent's scope when a run claims
 * the spare, and activated at most once.
 */
export interface TokenReservation {
  readonly token: string;
  /** Makes the token the grant of one agent of one run; throws when used or discarded already. */
  activate(scope: GrantScope): ModelGrant;
  /** Gives the token up unused; idempotent. */
  discard(): void;
}

const newToken = (): string => `multiclaude-agent-${randomBytes(32).toString('base64url')}`;

export class AgentGrants {
  readonly #grants = new Map<string, Grant>();

  /** A fresh token for one agent of one run. */
  issue(scope: GrantScope): ModelGrant {
    return this.#register(newToken(), scope);
  }

  /** A token for a warm spare: admitted by nothing until activate() binds it to its agent at claim time. */
  reserve(): TokenReservation {
    const token = newToken();
    let used = false;
    return {
      token,
      activate: (scope) => {
        if (used) throw new Error('this reserved token was already used or discarded');
        used = true;
        return this.#register(token, scope);
      },
      discard: () => void (used = true),
    };
  }

  #register(token: string, scope: GrantScope): ModelGrant {
    const key = digest(token);
    const grant = new Grant(token, { ...scope }, () => this.#grants.delete(key));
    this.#grants.set(key, grant);
    return grant;
  }

  /** Whether a request carrying this token may go to the model now. */
  admit(token: string | undefined): AdmissionResult {
    const grant = token ? this.#grants.get(digest(token)) : undefined;
    if (!grant) return { admitted: false, reason: 'unknown_token' };
    if (grant.budgetReached) {
      grant.refusals++;
      return { admitted: false, reason: 'budget_reached', grant };
    }
    return { admitted: true, grant };
  }

  /** Adds one response's cost to its agent's spend; counted even after revocation (the response was paid for). */
  charge(grant: ModelGrant, model: string | undefined, usage: TokenUsage): number {
    const cost = costOf(model, usage);
    (grant as Grant).spentUsd += cost;
    return cost;
  }

  /** Tokens currently valid; for tests and diagnostics. */
  get active(): number {
    return this.#grants.size;
  }
}

/** The refusal an agent sees once its budget is spent. */
export function budgetMessage(grant: ModelGrant): string {
  return `budget reached: agent ${grant.scope.agentId} spent $${grant.spentUsd.toFixed(4)} of its $${(grant.scope.budgetUsd ?? 0).toFixed(4)} share of the run's budget_usd`;
}
