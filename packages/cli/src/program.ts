// The command tree (commander): every command, its options, help text and shell completion; actions delegate to src/commands and src/mcp.
import { Command, Option } from 'commander';
import tab from '@bomb.sh/tab/commander';
import { MAX_AGENTS } from '@multiclaude/contract';
import { cancelCommand, diffCommand, logsCommand, mergeCommand, pushCommand, runsCommand, showCommand } from './commands/review.ts';
import { RUN_HELP, runCommand, type RunOptions } from './commands/run.ts';
import { DEFAULT_ORCHESTRATOR_URL } from './connection.ts';
import { defaultUrl, eventId, globalOptions, positiveInteger, positiveNumber, type CommandContext } from './context.ts';

const GLOBAL_HELP = `
Environment:
  ORCHESTRATOR_URL    the orchestrator (default ${DEFAULT_ORCHESTRATOR_URL}); when nothing answers at a
                      loopback address, one is started for the length of the command (see --no-embed)
  ORCHESTRATOR_TOKEN  sent as "Authorization: Bearer <token>" when the orchestrator needs one

Start here:
  multiclaude run "Add input validation to the signup form" -n 4 --check "npm test"
  multiclaude show <run>          multiclaude diff <run> <agent>          multiclaude merge <run> <agent>

Other agents can use it as an MCP server:  claude mcp add multiclaude -- npx multiclaude mcp`;

/** Builds the program; `setExitCode` receives each action's exit status. */
export function buildProgram(context: CommandContext, setExitCode: (code: number) => void): Command {
  const program = new Command('multiclaude');
  program
    .description('Run several Claude coding agents in parallel on one task, each on its own git branch in its own sandbox, and keep the best attempt.')
    .version('0.1.0')
    .option('--url <url>', `orchestrator URL (default: $ORCHESTRATOR_URL, else ${DEFAULT_ORCHESTRATOR_URL})`)
    .option('--no-embed', 'never start an orchestrator for the command; fail when none answers')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => context.stdout.write(text), writeErr: (text) => context.stderr.write(text) })
    .addHelpText('after', GLOBAL_HELP);

  const act =
    <Arguments extends unknown[]>(work: (...args: Arguments) => Promise<number>) =>
    async (...args: Arguments): Promise<void> => {
      setExitCode(await work(...args));
    };

  program
    .command('run')
    .description('start a run of N agents on a task, show their progress, then the ranking and the recommended agent')
    .argument('<task>', 'what every agent should do')
    .addOption(new Option('-n, --agents <count>', `number of agents, 1 to ${MAX_AGENTS}`).argParser(positiveInteger(MAX_AGENTS)).default(3))
    .option('--repo <path|url>', 'repository to start from (default: the one of the current directory)')
    .option('--ref <ref>', 'branch, tag or commit of the repository (default: its HEAD)')
    .option('--check <command>', 'command run in each agent\'s sandbox after it ends, e.g. "npm test"; a passed check ranks first')
    .option('--budget <usd>', 'spending limit for the whole run in US dollars, shared by its agents', positiveNumber)
    .option('--json', 'print the finished run (as GET /runs/:id) as one JSON line on stdout')
    .addHelpText('after', RUN_HELP)
    .action(act((task: string, options: RunOptions, command: Command) => runCommand(context, command, task, options)));

  program
    .command('runs')
    .description('list recent runs, newest first')
    .addOption(new Option('--limit <count>', 'how many, 1 to 100').argParser(positiveInteger(100)).default(20))
    .option('--before <run>', 'runs older than this one (the next page)')
    .option('--json', 'print the page as JSON')
    .action(act((options: { limit: number; before?: string; json?: boolean }, command: Command) => runsCommand(context, command, options)));

  program
    .command('show')
    .description('show a run: its status, each agent\'s result, the ranking and the recommended agent')
    .argument('<run>', 'run id')
    .option('--json', 'print the run as GET /runs/:id answers it')
    .action(act((run: string, options: { json?: boolean }, command: Command) => showCommand(context, command, run, options)));

  program
    .command('diff')
    .description('print what an agent changed: its branch against the run\'s base commit, as a patch')
    .argument('<run>', 'run id')
    .argument('<agent>', 'agent number', positiveInteger())
    .option('--stat', 'only the files and their added and removed lines')
    .action(act((run: string, agent: number, options: { stat?: boolean }, command: Command) => diffCommand(context, command, run, agent, options)));

  program
    .command('merge')
    .description('merge an agent\'s branch into the run repository\'s main (a conflict changes nothing and names the files)')
    .argument('<run>', 'run id')
    .argument('<agent>', 'agent number', positiveInteger())
    .option('--json', 'print the answer as JSON')
    .action(act((run: string, agent: number, options: { json?: boolean }, command: Command) => mergeCommand(context, command, run, agent, options)));

  program
    .command('push')
    .description('push an agent\'s branch to the run\'s source repository as a new branch (never forced)')
    .argument('<run>', 'run id')
    .argument('<agent>', 'agent number', positiveInteger())
    .option('--branch <name>', 'branch to create (default: multiclaude/<run>/agent-<n>)')
    .option('--json', 'print the answer as JSON')
    .action(act((run: string, agent: number, options: { branch?: string; json?: boolean }, command: Command) => pushCommand(context, command, run, agent, options)));

  program
    .command('cancel')
    .description('cancel a run, or only one of its agents; commits made so far stay on their branches')
    .argument('<run>', 'run id')
    .argument('[agent]', 'agent number (default: the whole run)', positiveInteger())
    .option('--json', 'print the answer as JSON')
    .action(act((run: string, agent: number | undefined, options: { json?: boolean }, command: Command) => cancelCommand(context, command, run, agent, options)));

  program
    .command('logs')
    .description('print a run\'s events, one line each, live until it ends (a finished run: its whole history)')
    .argument('<run>', 'run id')
    .option('--after <event-id>', 'resume after this event id (the first number of each line)', eventId)
    .option('--json', 'print each event as a JSON line')
    .action(act((run: string, options: { after?: number; json?: boolean }, command: Command) => logsCommand(context, command, run, options)));

  program
    .command('mcp')
    .description('serve the run API as MCP tools over stdio, for Claude Code and other agents')
    .addHelpText('after', '\nAdd it to Claude Code:\n  claude mcp add multiclaude -- npx multiclaude mcp\n\nTools: start_run, get_run, wait_run, get_diff, merge, push, cancel_run.')
    .action(
      act(async (_options: unknown, command: Command) => {
        const options = globalOptions(command);
        // Loaded only here: the MCP SDK is the heaviest import, and every other command starts faster without it.
        const { serveMcp } = await import('./mcp/server.ts');
        await serveMcp(
          { url: options.url, embed: options.embed, token: process.env['ORCHESTRATOR_TOKEN'], log: (line) => context.stderr.write(`${line}\n`) },
          context.signal,
        );
        return 0;
      }),
    );

  // Last, so the completion knows every command and option; `multiclaude completion bash` prints the script.
  tab(program, { completionCommandName: 'completion' });
  return program;
}

export { defaultUrl };
