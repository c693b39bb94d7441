// Shows a run's progress while it goes: on a terminal one line per agent redrawn in place (log-update), elsewhere a plain line whenever an agent's line changes.
import { createLogUpdate } from 'log-update';
import type { RunEvent } from '@multiclaude/contract';
import { agentLine, applyEvent, emptyProgress, runHeader, type RunProgress } from './format.ts';

export interface ProgressView {
  update(event: RunEvent): void;
  /** Leaves the last frame on screen (terminal) and stops redrawing. */
  done(): void;
}

/** Redraws at most this often, so a chatty agent does not flood a slow terminal. */
const REDRAW_INTERVAL_MS = 100;

export function createProgressView(options: { runId: string; agentCount: number; stream: NodeJS.WriteStream; live: boolean }): ProgressView {
  const progress = emptyProgress(options.runId, options.agentCount);
  return options.live ? liveView(progress, options.stream) : plainView(progress, options.stream);
}

function frame(progress: RunProgress, width: number): string {
  const lines = [runHeader(progress)];
  for (const agent of [...progress.agents.values()].sort((a, b) => a.agent_id - b.agent_id)) lines.push(agentLine(agent, width));
  return lines.join('\n');
}

function liveView(progress: RunProgress, stream: NodeJS.WriteStream): ProgressView {
  const render = createLogUpdate(stream, { showCursor: false });
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    timer = undefined;
    render(frame(progress, Math.max(40, (stream.columns || 120) - 1)));
  };
  draw();
  return {
    update(event) {
      applyEvent(progress, event);
      timer ??= setTimeout(draw, REDRAW_INTERVAL_MS);
    },
    done() {
      if (timer) clearTimeout(timer);
      draw();
      render.done();
    },
  };
}

function plainView(progress: RunProgress, stream: NodeJS.WriteStream): ProgressView {
  let lastHeader = '';
  const printed = new Map<number, string>();
  const say = (line: string): void => {
    stream.write(`${line}\n`);
  };
  return {
    update(event) {
      const changed = applyEvent(progress, event);
      const header = runHeader(progress);
      if (header !== lastHeader) {
        lastHeader = header;
        say(header);
      }
      // run_finished fills in every agent at once; print only those whose line it changed.
      const candidates = changed === undefined ? [...progress.agents.keys()] : [changed];
      for (const agentId of candidates) {
        const agent = progress.agents.get(agentId);
        if (!agent) continue;
        const line = agentLine(agent, 160);
        if (printed.get(agentId) === line) continue;
        printed.set(agentId, line);
        say(line);
      }
    },
    done() {},
  };
}
