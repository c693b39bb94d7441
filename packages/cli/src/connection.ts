// Finds the orchestrator a command talks to: ORCHESTRATOR_URL (or --url) with ORCHESTRATOR_TOKEN, or, when nothing answers on a loopback address, one started for the command.
import { OrchestratorClient, unreachable } from './client.ts';
import { startEmbeddedOrchestrator, type EmbeddedOrchestrator } from './embedded-orchestrator.ts';
import { CliError } from './errors.ts';

export const DEFAULT_ORCHESTRATOR_URL = 'http://127.0.0.1:8080';

export interface ConnectionOptions {
  url: string;
  token?: string | undefined;
  /** Start an orchestrator when none answers at a loopback url (default true). */
  embed: boolean;
  /** Where to say that one was started (stderr; the MCP server logs it instead). */
  notice: (line: string) => void;
  signal?: AbortSignal;
}

export interface Connection {
  client: OrchestratorClient;
  embedded: EmbeddedOrchestrator | undefined;
  close(): Promise<void>;
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

export function validateUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch (error) {
    throw new CliError('usage', `ORCHESTRATOR_URL (or --url) must be an http(s) URL, got "${url}"`, { cause: error });
  }
}

/**
 * A remote url that does not answer is an error (starting a local one would silently use another workspace);
 * a loopback one that does not answer means no local orchestrator runs, so one is started for this command.
 */
export async function connect(options: ConnectionOptions): Promise<Connection> {
  const url = validateUrl(options.url);
  const client = new OrchestratorClient({ url, token: options.token });
  let failure: unknown;
  try {
    await client.health(options.signal);
    return { client, embedded: undefined, close: async () => {} };
  } catch (error) {
    failure = error;
  }
  if (!(failure instanceof CliError && (failure.code === 'unreachable' || failure.code === 'timeout'))) throw failure;
  if (!options.embed || !isLoopback(url)) throw unreachable(url, failure.cause ?? failure);
  const embedded = await startEmbeddedOrchestrator(options.signal ? { signal: options.signal } : {});
  const embeddedClient = new OrchestratorClient({ url: embedded.url, token: options.token });
  const ready = await embeddedClient.ready();
  const model = ready?.model ? `; model: ${ready.model}` : '';
  options.notice(`multiclaude: no orchestrator at ${url}; started one at ${embedded.url} (pid ${embedded.pid}) for this command${model}`);
  return { client: embeddedClient, embedded, close: () => embedded.stop() };
}
