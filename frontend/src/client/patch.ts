// Renders a unified patch for reading: unified with added, removed and hunk lines marked (+, −, @@ too, not only colour), or side by side.
import { el } from './dom.ts';

const MAX_PATCH_LINES = 4000;

function lineKind(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff --git')) return 'file';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  if (line.startsWith('@@')) return 'hunk';
  return '';
}

export function renderPatch(patch: string): HTMLElement {
  const lines = patch.split('\n');
  const shown = lines.slice(0, MAX_PATCH_LINES).map((line) => {
    const kind = lineKind(line);
    return el('span', { className: kind ? `line ${kind}` : 'line', text: `${line}\n` });
  });
  if (lines.length > MAX_PATCH_LINES) shown.push(el('span', { className: 'line hunk', text: `… ${lines.length - MAX_PATCH_LINES} more lines` }));
  return el('pre', { className: 'patch', attrs: { tabindex: '0', 'aria-label': 'Patch' } }, shown);
}

type Side = { text: string; kind: '' | 'add' | 'del' } | null;

/** Pairs each hunk's removed lines with its added ones, row by row; context lines sit on both sides. */
export function sideBySideRows(patch: string): Array<{ kind: 'file' | 'hunk' | 'pair'; text?: string; left?: Side; right?: Side }> {
  const rows: Array<{ kind: 'file' | 'hunk' | 'pair'; text?: string; left?: Side; right?: Side }> = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = (): void => {
    for (let index = 0; index < Math.max(removed.length, added.length); index += 1) {
      const left = removed[index];
      const right = added[index];
      rows.push({ kind: 'pair', left: left === undefined ? null : { text: left, kind: 'del' }, right: right === undefined ? null : { text: right, kind: 'add' } });
    }
    removed = [];
    added = [];
  };
  for (const line of patch.split('\n').slice(0, MAX_PATCH_LINES)) {
    const kind = lineKind(line);
    if (kind === 'add') added.push(line.slice(1));
    else if (kind === 'del') removed.push(line.slice(1));
    else {
      flush();
      if (line.startsWith('diff --git')) rows.push({ kind: 'file', text: line.replace(/^diff --git a\/(.*) b\/.*$/, '$1') });
      else if (kind === 'hunk') rows.push({ kind: 'hunk', text: line });
      else if (kind === '' && line !== '' && !/^(index |new file|deleted file|similarity|rename|old mode|new mode|Binary)/.test(line)) {
        rows.push({ kind: 'pair', left: { text: line.slice(1), kind: '' }, right: { text: line.slice(1), kind: '' } });
      }
    }
  }
  flush();
  return rows;
}

export function renderSideBySide(patch: string, leftLabel: string, rightLabel: string): HTMLElement {
  const cell = (side: Side | undefined, mark: string) =>
    el('td', { className: side ? `line ${side.kind}` : 'line empty', text: side ? `${side.kind ? mark : ' '} ${side.text}` : '' });
  const rows = sideBySideRows(patch).map((row) => {
    if (row.kind !== 'pair') return el('tr', { className: row.kind }, [el('td', { className: `line ${row.kind}`, text: row.text ?? '', attrs: { colspan: '2' } })]);
    return el('tr', {}, [cell(row.left, '−'), cell(row.right, '+')]);
  });
  return el('div', { className: 'split-scroll', attrs: { tabindex: '0', role: 'region', 'aria-label': 'Side-by-side diff' } }, [
    el('table', { className: 'split' }, [
      el('thead', {}, [el('tr', {}, [el('th', { text: leftLabel, attrs: { scope: 'col' } }), el('th', { text: rightLabel, attrs: { scope: 'col' } })])]),
      el('tbody', {}, rows),
    ]),
  ]);
}
