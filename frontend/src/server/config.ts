// Reads the frontend server's configuration from the environment once, at start-up, and validates it with zod.
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== '' ? value.trim() : undefined));

const EnvironmentSchema = z.object({
  HOST: optionalString.transform((value) => value ?? '127.0.0.1'),
  PORT: z.coerce
    .number({ error: 'PORT must be a number' })
    .int({ message: 'PORT must be an integer' })
    .min(0, { message: 'PORT must be between 0 and 65535' })
    .max(65535, { message: 'PORT must be between 0 and 65535' })
    .default(3000),
  ORCHESTRATOR_URL: optionalString
    .transform((value) => value ?? 'http://127.0.0.1:8080')
    .pipe(z.url({ protocol: /^https?$/, message: 'ORCHESTRATOR_URL must be an http(s) URL' }))
    // Paths are appended to it, so a trailing slash would double up.
    .transform((value) => value.replace(/\/+$/, '')),
  ORCHESTRATOR_TOKEN: optionalString,
});

export interface FrontendConfig {
  host: string;
  port: number;
  orchestratorUrl: string;
  /** Sent to the orchestrator as a bearer token; never to the browser. */
  orchestratorToken: string | undefined;
}

export class ConfigError extends Error {}

export function loadConfig(environment: Record<string, string | undefined>): FrontendConfig {
  const parsed = EnvironmentSchema.safeParse(environment);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const { HOST, PORT, ORCHESTRATOR_URL, ORCHESTRATOR_TOKEN } = parsed.data;
  return { host: HOST, port: PORT, orchestratorUrl: ORCHESTRATOR_URL, orchestratorToken: ORCHESTRATOR_TOKEN };
}
