// Reduces the SDK's messages to the short, client-safe records the API returns in `messages`.
import type { AgentMessage } from '@multiclaude/contract';

const MAX_TEXT = 2_000;
const MAX_INPUT_SUMMARY = 200;

function truncate(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** A one-line view of a tool's input: the command, the path, or the JSON. */
export function summarizeToolInput(input: unknown): string {
  if (input && typeof input === 'object') {
    const record = input as Record<string, unknown>;
    for (const key of ['command', 'file_path', 'path', 'pattern', 'url']) {
      if (typeof record[key] === 'string') return truncate(record[key], MAX_INPUT_SUMMARY);
    }
  }
  return truncate(JSON.stringify(input) ?? '', MAX_INPUT_SUMMARY);
}

/** Strips the `mcp__<server>__` prefix: users know the tools as Write, Bash... */
export function displayToolName(name: string): string {
  const match = /^mcp__[^_]+(?:_[^_]+)*?__(.+)$/.exec(name);
  return match ? match[1]! : name;
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : '')).join('\n');
  }
  return '';
}

interface ContentBlock {
  type: string;
  text?: string;
  name?: string;
  input?: unknown;
  content?: unknown;
  is_error?: boolean;
}

/** The records for one SDK message; most SDK message types give none. */
export function toAgentMessages(message: { type: string; message?: { content?: unknown } }): AgentMessage[] {
  if (message.type !== 'assistant' && message.type !== 'user') return [];
  const content = message.message?.content;
  if (!Array.isArray(content)) return [];
  const records: AgentMessage[] = [];
  for (const block of content as ContentBlock[]) {
    if (block.type === 'text' && message.type === 'assistant' && block.text) {
      records.push({ type: 'text', text: truncate(block.text, MAX_TEXT) });
    } else if (block.type === 'tool_use' && block.name) {
      records.push({ type: 'tool_use', tool: displayToolName(block.name), input_summary: summarizeToolInput(block.input) });
    } else if (block.type === 'tool_result') {
      records.push({ type: block.is_error ? 'tool_error' : 'tool_result', text: truncate(toolResultText(block.content), MAX_TEXT) });
    }
  }
  return records;
}
