// Decides what the offline model says next: a pure function of the Messages API request it was sent.
//
// The script follows the orchestrator's enhanced prompt: it writes one file through the agent's Write
// tool, commits it through the Bash tool, then reports. Directives in the user's task change that, so
// tests can drive one agent of many into trouble:
//   [[fail]] [[fail agent=2]]        answer 400, an error the CLI does not retry
//   [[overload times=2 agent=1]]     answer 529 (overloaded) that many times, then carry on
//   [[slow ms=1500]]                 wait before each answer ([[slow ms=1500 from=2]]: only from the
//                                    answer after the second tool result on, e.g. after the commit)
//   [[file name=clock.ts]]           the file to write (default agent-<N>.md)
//   [[text]]                         answer with text only, no tools
//   [[bash agent=2 cmd="echo hi"]]   first run this command through the Bash tool (one tool call per directive,
//                                    in order, before the usual write and commit); the value is a JSON string.
//                                    For tests that act as a hostile agent, through the agent's own tools.
//   [[usage input_tokens=1000000 output_tokens=10]]
//                                    report these token counts in each answer's usage (for budget tests)
//
// A follow-up (the orchestrator's "## Follow-up from the user" request in a resumed session) is scripted
// the same way from its own directives: it writes agent-<N>-followup.md (-2, -3... for later ones), naming
// the earlier task and how many earlier messages it was sent, so tests can see the conversation was resumed.
// A judge prompt (the orchestrator's, recognised by its first line "## multiclaude judge") is answered
// with a JSON ranking of the candidates it lists, in their order, steered by a directive in the task:
//   [[judge order=3,1,2]]            rank these first, in this order (the rest follow as listed)
//   [[judge fail]]                   answer without any ranking (the run falls back to its rules)
//   [[judge ms=5000]]                wait this long before answering (for timeouts)

export interface ToolUse {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}
export interface TextBlock {
  type: 'text';
  text: string;
}
export type ContentBlock = TextBlock | ToolUse;

/** Token counts an answer reports instead of the estimate. */
export interface ReportedUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export type ScriptedReply =
  | { kind: 'message'; content: ContentBlock[]; stopReason: 'end_turn' | 'tool_use'; delayMs: number; usage?: ReportedUsage }
  | { kind: 'error'; status: number; errorType: string; message: string; delayMs: number };

export interface Directive {
  name: string;
  args: Record<string, string>;
}

export interface AgentContext {
  agentId: number | null;
  branch: string | null;
  workingDirectory: string | null;
  task: string;
  /** The latest follow-up, when the request continues a resumed session with one. */
  followUp: FollowUp | null;
}

export interface FollowUp {
  task: string;
  /** 1 for the first follow-up of the session, 2 for the next... */
  number: number;
  /** Messages before the follow-up: the earlier conversation the model was sent. */
  earlierMessages: number;
  /** Tool results since the follow-up. */
  toolResults: number;
}

const FOLLOW_UP_MARKER = '## Follow-up from the user';
const FOLLOW_UP_TASK = '## Follow-up Task:';

interface RequestMessage {
  role: string;
  content: unknown;
}
export interface MessagesRequest {
  model?: string;
  messages?: RequestMessage[];
  tools?: Array<{ name: string }>;
}

/** A directive's value: bare (no space or `]`), or a JSON string in double quotes. */
const VALUE = String.raw`(?:"(?:[^"\\]|\\.)*"|[^\]\s"]+)`;
// A key without a value is a flag: [[judge fail]].
const DIRECTIVE = new RegExp(String.raw`\[\[(\w+)((?:\s+\w+(?:=${VALUE})?)*)\s*\]\]`, 'g');
const ARGUMENT = new RegExp(String.raw`(\w+)(?:=(${VALUE}))?`, 'g');
/** The first line of the orchestrator's judge prompt (backend/orchestrator/src/runs/judge.ts). */
export const JUDGE_MARKER = '## multiclaude judge';

function argumentValue(raw: string): string {
  if (!raw.startsWith('"')) return raw;
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

export function parseDirectives(task: string): Directive[] {
  const directives: Directive[] = [];
  for (const match of task.matchAll(DIRECTIVE)) {
    const args: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(ARGUMENT)) args[pair[1]!] = pair[2] === undefined ? 'true' : argumentValue(pair[2]);
    directives.push({ name: match[1]!, args });
  }
  return directives;
}

/** Every directive of that name that applies to the agent, in order. */
export function directivesFor(directives: Directive[], name: string, agentId: number | null): Directive[] {
  return directives.filter((directive) => directiveFor([directive], name, agentId));
}

/** A directive applies to an agent when it names no agent, or names this one (agent=2 or agent=1,3). */
export function directiveFor(directives: Directive[], name: string, agentId: number | null): Directive | undefined {
  return directives.find((directive) => {
    if (directive.name !== name) return false;
    const agents = directive.args['agent'];
    if (!agents) return true;
    return agentId !== null && agents.split(',').map(Number).includes(agentId);
  });
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block: { type?: string; text?: string }) => (block.type === 'text' && block.text ? block.text : ''))
    .join('\n');
}

function firstUserText(request: MessagesRequest): string {
  const firstUser = (request.messages ?? []).find((message) => message.role === 'user');
  return firstUser ? textOf(firstUser.content) : '';
}

export function readAgentContext(request: MessagesRequest): AgentContext {
  const prompt = firstUserText(request);
  const agent = /You are Agent (\d+) working on branch `([^`]+)`/.exec(prompt);
  const directory = /\*\*Your working directory is: (.+?)\*\*/.exec(prompt);
  const taskStart = prompt.indexOf('## Your Task:');
  const task = taskStart >= 0 ? prompt.slice(taskStart + '## Your Task:'.length).trim() : prompt.trim();
  return {
    agentId: agent ? Number(agent[1]) : null,
    branch: agent ? agent[2]! : null,
    workingDirectory: directory ? directory[1]!.trim() : null,
    task,
    followUp: readFollowUp(request.messages ?? []),
  };
}

function readFollowUp(messages: RequestMessage[]): FollowUp | null {
  const indexes = messages.flatMap((message, index) => (message.role === 'user' && textOf(message.content).includes(FOLLOW_UP_MARKER) ? [index] : []));
  const last = indexes.at(-1);
  if (last === undefined) return null;
  const text = textOf(messages[last]!.content);
  const taskStart = text.indexOf(FOLLOW_UP_TASK);
  return {
    task: taskStart >= 0 ? text.slice(taskStart + FOLLOW_UP_TASK.length).trim() : text.trim(),
    number: indexes.length,
    earlierMessages: last,
    toolResults: toolResultsIn(messages.slice(last + 1)),
  };
}

function toolResultsIn(messages: RequestMessage[]): number {
  let count = 0;
  for (const message of messages) {
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    for (const block of message.content as Array<{ type?: string }>) if (block.type === 'tool_result') count++;
  }
  return count;
}

function reportedUsage(directive: Directive | undefined): ReportedUsage | undefined {
  if (!directive) return undefined;
  const usage: ReportedUsage = {};
  for (const key of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
    const value = Number(directive.args[key]);
    if (Number.isInteger(value) && value >= 0) usage[key] = value;
  }
  return usage;
}

function findTool(request: MessagesRequest, name: string): string | undefined {
  return (request.tools ?? []).map((tool) => tool.name).find((tool) => tool === name || tool.endsWith(`__${name}`));
}

function firstLine(task: string): string {
  const line = task.replace(DIRECTIVE, '').trim().split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/**
 * The judge's answer: the candidates the prompt lists, ranked as `[[judge order=...]]` in its task says
 * (directives are read from the task only, never from the candidates' diffs), as a JSON block.
 */
export function judgeReply(prompt: string): ScriptedReply {
  const task = /<task-(\w+)>\n([\s\S]*?)\n<\/task-\1>/.exec(prompt)?.[2] ?? '';
  const judge = directiveFor(parseDirectives(task), 'judge', null);
  const delayMs = Number(judge?.args['ms'] ?? 0) || 0;
  if (judge?.args['fail']) {
    return { kind: 'message', content: [{ type: 'text', text: 'Offline judge here: I cannot decide between these candidates.' }], stopReason: 'end_turn', delayMs };
  }
  const candidates = (/^Candidates: ([\d, ]+)$/m.exec(prompt)?.[1] ?? '').split(',').map((id) => Number(id.trim())).filter(Boolean);
  const preferred = (judge?.args['order'] ?? '').split(',').map(Number).filter((id) => candidates.includes(id));
  const order = [...new Set([...preferred, ...candidates])];
  const ranking = order.map((agent_id, index) => ({
    agent_id,
    reason: index === 0 ? `agent ${agent_id}'s change reads best against the task (offline judge, scripted)` : `agent ${agent_id} ranks ${index + 1} (offline judge, scripted)`,
  }));
  const verdict = { ranking, summary: order.length ? `agent ${order[0]}'s change reads best against the task (offline judge, scripted)` : 'no candidates' };
  return {
    kind: 'message',
    content: [{ type: 'text', text: `Offline judge here. My verdict:\n\n\`\`\`json\n${JSON.stringify(verdict, null, 2)}\n\`\`\`` }],
    stopReason: 'end_turn',
    delayMs,
  };
}

/**
 * The next reply for a request. `overloadsServed` counts the 529s already given to this agent, so
 * `[[overload times=N]]` stops after N.
 */
export function scriptReply(request: MessagesRequest, overloadsServed: number, idSeed: string): ScriptedReply {
  const firstText = firstUserText(request);
  if (firstText.includes(JUDGE_MARKER)) return judgeReply(firstText);
  const reply = scriptedContent(request, overloadsServed, idSeed);
  if (reply.kind !== 'message') return reply;
  const context = readAgentContext(request);
  const usage = reportedUsage(directiveFor(parseDirectives(context.task), 'usage', context.agentId));
  return usage ? { ...reply, usage } : reply;
}

function scriptedContent(request: MessagesRequest, overloadsServed: number, idSeed: string): ScriptedReply {
  const context = readAgentContext(request);
  const followUp = context.followUp;
  const directives = parseDirectives(followUp?.task ?? context.task);
  const toolResults = followUp?.toolResults ?? toolResultsIn(request.messages ?? []);
  const slow = directiveFor(directives, 'slow', context.agentId);
  const slowFrom = Number(slow?.args['from'] ?? 0) || 0;
  const delayMs = slow && toolResults >= slowFrom ? Number(slow.args['ms'] ?? 0) || 0 : 0;
  const label = context.agentId === null ? 'the user' : `agent ${context.agentId}`;

  if (directiveFor(directives, 'fail', context.agentId)) {
    return {
      kind: 'error',
      status: 400,
      errorType: 'invalid_request_error',
      message: `offline model: scripted failure for ${label}`,
      delayMs,
    };
  }
  const overload = directiveFor(directives, 'overload', context.agentId);
  if (overload && overloadsServed < (Number(overload.args['times'] ?? 1) || 1)) {
    return { kind: 'error', status: 529, errorType: 'overloaded_error', message: 'offline model: overloaded', delayMs };
  }

  const write = findTool(request, 'Write');
  const bash = findTool(request, 'Bash');
  const textOnly = directiveFor(directives, 'text', context.agentId) !== undefined;
  if (context.agentId === null || !write || !bash || textOnly) {
    return {
      kind: 'message',
      content: [{ type: 'text', text: `Offline demo model here: I read "${firstLine(context.task)}". No tools used.` }],
      stopReason: 'end_turn',
      delayMs,
    };
  }

  const agentId = context.agentId;
  const directory = (context.workingDirectory ?? '.').replace(/\/+$/, '') || '/';
  const defaultName = followUp ? `agent-${agentId}-followup${followUp.number > 1 ? `-${followUp.number}` : ''}.md` : `agent-${agentId}.md`;
  const fileName = directiveFor(directives, 'file', agentId)?.args['name'] ?? defaultName;
  const filePath = `${directory === '/' ? '' : directory}/${fileName}`;
  const commands = directivesFor(directives, 'bash', agentId).map((directive) => directive.args['cmd'] ?? 'true');
  const results = toolResults;
  if (results < commands.length) {
    return {
      kind: 'message',
      content: [
        { type: 'text', text: `Running command ${results + 1} of ${commands.length}.` },
        { type: 'tool_use', id: `toolu_${idSeed}_bash${results}`, name: bash, input: { command: commands[results]!, description: 'Scripted command' } },
      ],
      stopReason: 'tool_use',
      delayMs,
    };
  }
  const step = results - commands.length;
  const content = followUp
    ? `# Agent ${agentId}, follow-up ${followUp.number}\n\nFollow-up: ${firstLine(followUp.task)}\n\nEarlier task: ${firstLine(context.task)}\nEarlier messages: ${followUp.earlierMessages}\n`
    : `# Agent ${agentId}\n\nTask: ${firstLine(context.task)}\n\nWritten by the offline demo model.\n`;
  if (step === 0) {
    return {
      kind: 'message',
      content: [
        { type: 'text', text: `I'll write ${fileName} for this task.` },
        {
          type: 'tool_use',
          id: `toolu_${idSeed}_write`,
          name: write,
          input: { file_path: filePath, content },
        },
      ],
      stopReason: 'tool_use',
      delayMs,
    };
  }
  if (step === 1) {
    const message = `Agent ${agentId}: ${followUp ? 'follow-up, ' : ''}add ${fileName}`;
    return {
      kind: 'message',
      content: [
        { type: 'text', text: 'Now I commit my work.' },
        {
          type: 'tool_use',
          id: `toolu_${idSeed}_commit`,
          name: bash,
          input: {
            command: `cd '${directory}' && git add -A && git commit -m '${message}'`,
            description: 'Commit the work',
          },
        },
      ],
      stopReason: 'tool_use',
      delayMs,
    };
  }
  return {
    kind: 'message',
    content: [
      {
        type: 'text',
        text: `I've created ${fileName} in ${directory} and committed it on branch \`${context.branch}\`.`,
      },
    ],
    stopReason: 'end_turn',
    delayMs,
  };
}
