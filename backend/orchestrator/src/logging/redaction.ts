// Keeps secrets out of every log line: field paths pino censors, then a last pass over each finished line for the secret values themselves.

export const CENSOR = '[redacted]';

/** Field paths that may carry secrets; pino writes CENSOR instead of their values. */
export const REDACTED_PATHS = [
  'anthropicApiKey',
  '*.anthropicApiKey',
  'orchestratorToken',
  '*.orchestratorToken',
  'apiKey',
  '*.apiKey',
  'ANTHROPIC_API_KEY',
  '*.ANTHROPIC_API_KEY',
  '*.*.ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  '*.ANTHROPIC_AUTH_TOKEN',
  '*.*.ANTHROPIC_AUTH_TOKEN',
  'ORCHESTRATOR_TOKEN',
  '*.ORCHESTRATOR_TOKEN',
  '*.*.ORCHESTRATOR_TOKEN',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'token',
  '*.token',
  'password',
  '*.password',
];

/**
 * Shapes a secret takes in text no matter which field holds it: Anthropic keys, and credentials after an
 * auth scheme. Field paths alone miss a key quoted inside an error message or a command line.
 */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/sk-ant-[A-Za-z0-9_-]{8,}/g, CENSOR],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${CENSOR}`],
];

/** Shorter values would censor ordinary words all over the logs; such secrets rely on the field paths. */
const MIN_LITERAL_LENGTH = 6;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A function that censors the given secret values (as written raw and as escaped inside a JSON string)
 * and anything shaped like a key or bearer credential in one finished log line.
 */
export function createSecretScrubber(secrets: ReadonlyArray<string | undefined>): (line: string) => string {
  const literals = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < MIN_LITERAL_LENGTH) continue;
    literals.add(secret);
    literals.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is censored whole.
  const literal =
    literals.size > 0 ? new RegExp([...literals].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g') : undefined;
  return (line) => {
    let scrubbed = literal ? line.replace(literal, CENSOR) : line;
    for (const [pattern, replacement] of SECRET_PATTERNS) scrubbed = scrubbed.replace(pattern, replacement);
    return scrubbed;
  };
}
