// A two-step confirmation around a button that stops work: the first press asks, "Yes" does it, "No" (or 8 seconds) puts it back.
import { el, setText } from './dom.ts';

const REVERT_MS = 8_000;

export class ConfirmButton {
  readonly element: HTMLElement;
  readonly #button: HTMLButtonElement;
  readonly #ask: HTMLElement;
  readonly #yes: HTMLButtonElement;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: { text: string; label: string; question: string; yes: string; no: string; className: string; onConfirm: () => void }) {
    this.#button = el('button', { className: options.className, text: options.text, attrs: { type: 'button', 'aria-label': options.label } });
    this.#yes = el('button', { className: `${options.className} confirm-yes`, text: options.yes, attrs: { type: 'button' } });
    const no = el('button', { className: 'small quiet confirm-no', text: options.no, attrs: { type: 'button' } });
    this.#ask = el('span', { className: 'confirm', attrs: { role: 'group', 'aria-label': options.question } }, [
      el('span', { className: 'confirm-question', text: options.question }),
      this.#yes,
      no,
    ]);
    this.#ask.hidden = true;
    this.element = el('span', { className: 'confirm-wrap' }, [this.#button, this.#ask]);
    this.#button.addEventListener('click', () => this.#open());
    no.addEventListener('click', () => this.#close(true));
    this.#yes.addEventListener('click', () => {
      this.#close(false);
      options.onConfirm();
    });
  }

  set hidden(hidden: boolean) {
    this.element.hidden = hidden;
    if (hidden) this.#close(false);
  }

  setText(text: string): void {
    setText(this.#button, text);
  }

  #open(): void {
    this.#button.hidden = true;
    this.#ask.hidden = false;
    this.#yes.focus();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#close(false), REVERT_MS);
  }

  #close(refocus: boolean): void {
    clearTimeout(this.#timer);
    if (this.#ask.hidden) return;
    this.#ask.hidden = true;
    this.#button.hidden = false;
    if (refocus) this.#button.focus();
  }
}
