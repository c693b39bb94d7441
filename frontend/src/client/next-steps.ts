// After a merge, the way out: where the run repository is (with a copy button), main as a download, the git commands that bring it into the user's own repository, and Push once runs have a source.
import type { RunView } from './state.ts';
import { el, setText } from './dom.ts';

export interface NextStepsActions {
  exportMainUrl(runId: string, format: 'bundle' | 'zip' | 'tar'): string;
}

/**
 * Where Push would send main. Runs have no source repository yet (issue 16 adds sources and push): until
 * then there is nowhere to push, and the page offers the commands instead. Return the source here, and
 * render a Push button for it, once RunState carries one.
 */
export function pushTarget(_view: RunView): string | null {
  return null;
}

/** The commands that fetch the run's main into the user's repository as a branch, then merge it. */
export function gitCommands(view: RunView): string {
  const branch = `multiclaude/${view.run_id}`;
  const source = view.run_path ?? `<workspace>/${view.run_dir ?? `runs/run_${view.run_id}`}`;
  return [
    '# in your own repository:',
    `git fetch ${shellQuote(source)} main:${branch}`,
    `git merge ${branch}`,
    '',
    '# or, from the downloaded bundle:',
    `git fetch ${shellQuote(`${view.run_id}-main.bundle`)} main:${branch}`,
  ].join('\n');
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./<>-]+$/.test(text) && !/[<>]/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

async function copy(text: string, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    setText(status, 'Copied.');
  } catch {
    setText(status, 'Could not copy here: select the text and copy it.');
  }
}

export class NextSteps {
  readonly element: HTMLElement;
  readonly #path: HTMLElement;
  readonly #commands: HTMLElement;
  readonly #downloads: HTMLElement;
  readonly #status: HTMLElement;
  readonly #actions: NextStepsActions;
  #runId: string | null = null;

  constructor(actions: NextStepsActions) {
    this.#actions = actions;
    this.#path = el('code', { attrs: { id: 'run-path' } });
    this.#commands = el('pre', { className: 'commands', attrs: { id: 'next-commands', tabindex: '0' } });
    this.#downloads = el('p', { className: 'downloads' });
    this.#status = el('p', { className: 'hint', attrs: { role: 'status' } });
    const copyPath = el('button', { className: 'small', text: 'Copy path', attrs: { type: 'button' } });
    copyPath.addEventListener('click', () => void copy(this.#path.textContent ?? '', this.#status));
    const copyCommands = el('button', { className: 'small', text: 'Copy commands', attrs: { type: 'button' } });
    copyCommands.addEventListener('click', () => void copy(this.#commands.textContent ?? '', this.#status));
    this.element = el('section', { className: 'next-steps card', attrs: { 'aria-labelledby': 'next-steps-title', id: 'next-steps' } }, [
      el('h3', { text: 'Next steps', attrs: { id: 'next-steps-title' } }),
      el('p', { text: 'main in the run repository now holds the merged work. The repository is at:' }),
      el('div', { className: 'path-row' }, [this.#path, copyPath]),
      el('p', { text: 'Download main:' }),
      this.#downloads,
      el('p', { text: 'Bring it into your repository:' }),
      this.#commands,
      copyCommands,
      this.#status,
    ]);
    this.element.hidden = true;
  }

  render(view: RunView): void {
    const merged = view.merges.length > 0;
    this.element.hidden = !merged;
    if (!merged) return;
    setText(this.#path, view.run_path ?? view.run_dir ?? '—');
    setText(this.#commands, gitCommands(view));
    if (this.#runId !== view.run_id) {
      this.#runId = view.run_id;
      setText(this.#status, '');
      const link = (format: 'bundle' | 'zip' | 'tar', text: string) =>
        el('a', { className: 'small-link', text, attrs: { href: this.#actions.exportMainUrl(view.run_id, format), download: '' } });
      this.#downloads.replaceChildren(link('bundle', 'main as a git bundle'), ' · ', link('zip', '.zip'), ' · ', link('tar', '.tar'));
    }
    // Push appears here once runs have a source (pushTarget).
  }
}
