// What every command shares: the global options, the output streams, the abort signal of Ctrl-C, and a connection opened for the command and always closed.
import { InvalidArgumentError, type Command } from 'commander';
import { connect, DEFAULT_ORCHESTRATOR_URL, type Connection } from './connection.ts';

export interface GlobalOptions {
  url: string;
  embed: boolean;
}

export interface CommandContext {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Aborted on SIGINT/SIGTERM: long waits end, children are stopped. */
  signal: AbortSignal;
  /** The connection of the running command; set by withConnection. */
  connection?: Connection;
}

export function defaultUrl(): string {
  return process.env['ORCHESTRATOR_URL']?.trim() || DEFAULT_ORCHESTRATOR_URL;
}

export function globalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<{ url?: string; embed?: boolean }>();
  return { url: options.url ?? defaultUrl(), embed: options.embed !== false };
}

/** Opens a connection for the command, runs it, and closes it (stopping an orchestrator started for it) whatever happens. */
export async function withConnection<T>(context: CommandContext, command: Command, work: (connection: Connection) => Promise<T>): Promise<T> {
  const options = globalOptions(command);
  const connection = await connect({
    url: options.url,
    token: process.env['ORCHESTRATOR_TOKEN'],
    embed: options.embed,
    notice: (line) => context.stderr.write(`${line}\n`),
    signal: context.signal,
  });
  context.connection = connection;
  try {
    return await work(connection);
  } finally {
    context.connection = undefined;
    await connection.close();
  }
}

/** commander parser for an agent number or a count: a positive integer, else commander's usage error (exit 2) naming the range. */
export function positiveInteger(max?: number): (value: string) => number {
  return (value: string) => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || number < 1 || (max !== undefined && number > max)) {
      throw new InvalidArgumentError(`expected an integer from 1${max !== undefined ? ` to ${max}` : ''}.`);
    }
    return number;
  };
}

/** commander parser for --budget: a positive number of US dollars. */
export function positiveNumber(value: string): number {
  const number = Number(value);
  if (!value.trim() || !Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number (US dollars).');
  return number;
}

/** commander parser for an event id to resume after: 0 or more. */
export function eventId(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected an event id (an integer, 0 or more).');
  return Number(value);
}
