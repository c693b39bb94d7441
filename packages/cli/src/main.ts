// The CLI's entry point: parses the command line, runs the command, and turns every outcome into one message and an exit status (0 ok, 1 failed, 2 usage).
import { CommanderError } from 'commander';
import { CliError, describeError, EXIT_FAILURE, EXIT_USAGE } from './errors.ts';
import type { CommandContext } from './context.ts';
import { buildProgram } from './program.ts';

const controller = new AbortController();
const context: CommandContext = { stdout: process.stdout, stderr: process.stderr, signal: controller.signal };
let exitCode = 0;
let signalled: NodeJS.Signals | undefined;

// A signal ends the command through its abort signal, so `finally` blocks stop what it started (an orchestrator child).
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    if (signalled) process.exit(name === 'SIGINT' ? 130 : 143);
    signalled = name;
    controller.abort(new CliError('interrupted', `stopped by ${name}`));
  });
}

const program = buildProgram(context, (code) => (exitCode = code));
try {
  await program.parseAsync(process.argv);
} catch (error) {
  exitCode = failureCode(error);
}
if (signalled) exitCode = signalled === 'SIGINT' ? 130 : 143;
// Pending handles (a finished fetch's socket) must not keep the command alive once it has answered.
process.exitCode = exitCode;
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(exitCode);

function failureCode(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has already printed its message (and the hint to --help).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    return EXIT_USAGE;
  }
  if (signalled) return 0;
  if (error instanceof CliError) {
    context.stderr.write(`multiclaude: ${error.message}\n`);
    return error.exitCode;
  }
  context.stderr.write(`multiclaude: unexpected failure: ${describeError(error)}\n${error instanceof Error && process.env['DEBUG'] ? `${error.stack}\n` : ''}`);
  return EXIT_FAILURE;
}
