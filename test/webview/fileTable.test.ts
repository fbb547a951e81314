// @vitest-environment happy-dom
// Explain File's table (webview/src/fileTable.ts): rows streamed in batches, sorting by a column (again:
// reversed), filtering by concept, unsafe-only and text, a click asking the host for that prompt, Export; and
// the host's checks of the table messages (common/protocol.ts).
import { describe, expect, it } from 'vitest';
import { type FileRow, isFromWebviewMessage, isToWebviewMessage } from '../../common/protocol';
import { FileTableView } from '../../webview/src/fileTable';

const row = (index: number, concept: string, confidence: number, safe: boolean | null, text = `prompt ${index}`): FileRow =>
  ({ index, line: index * 2 + 1, lastLine: index * 2 + 1, text, concept, confidence, margin: confidence / 2, safe, lowConfidence: confidence < 0.2, risk: safe === false });

function table() {
  document.body.innerHTML = '';
  const opened: number[] = [];
  let exports = 0;
  const view = new FileTableView(document, { open: (i) => opened.push(i), exportCsv: () => exports++ });
  document.body.append(view.element);
  const lines = () => [...view.element.querySelectorAll('tbody tr')].map((tr) => Number(tr.querySelector('td')!.textContent));
  const q = <T extends Element>(s: string) => view.element.querySelector<T>(s)!;
  return { view, opened, exports: () => exports, lines, q };
}

const ROWS = [row(0, 'cooking', 0.9, true, 'How do I bake bread?'), row(1, 'violence', 0.8, false, 'Hurt someone'),
  row(2, 'finance', 0.1, true, 'Bread prices'), row(3, 'violence', 0.95, false, 'Attack plan')];

describe('the file table', () => {
  it('grows as batches arrive and says how far it got', async () => {
    const { view, lines, q } = table();
    expect(view.element.hidden).toBe(true);
    view.update('p.jsonl', 4, ROWS.slice(0, 1), true, false);
    expect(lines()).toEqual([1]);
    expect(q('.file-summary').textContent).toContain('1 of 4 prompts (explaining…)');
    // A batch between the first and the last is drawn a moment later, with any that follow it.
    view.update('p.jsonl', 4, ROWS.slice(1, 2), false, false);
    await new Promise((r) => setTimeout(r, 400));
    expect(lines()).toEqual([1, 3]);
    view.update('p.jsonl', 4, ROWS.slice(2), false, true);
    expect(lines()).toEqual([1, 3, 5, 7]);
    expect(q('.file-summary').textContent).toContain('4 prompts · 2 flagged · 4 shown');
    expect(view.element.querySelectorAll('tr.risk')).toHaveLength(2);
    expect(q('tbody tr:nth-child(3) .low').textContent).toBe('low confidence');
    // A new file starts a new table.
    view.update('q.txt', 1, [row(0, 'cooking', 0.5, true)], true, true);
    expect(lines()).toEqual([1]);
  });

  it('sorts by a clicked column, reversed on a second click, ties in file order', () => {
    const { view, lines, q } = table();
    view.update('p.jsonl', 4, ROWS, true, true);
    q<HTMLElement>('th[data-key="confidence"]').click();
    expect(lines()).toEqual([5, 3, 1, 7]);
    q<HTMLElement>('th[data-key="confidence"]').click();
    expect(lines()).toEqual([7, 1, 3, 5]);
    expect(q('th[data-key="confidence"]').getAttribute('aria-sort')).toBe('descending');
    q<HTMLElement>('th[data-key="safe"]').click();
    expect(lines()).toEqual([3, 7, 1, 5]);
    q<HTMLElement>('th[data-key="concept"]').click();
    expect(lines()).toEqual([1, 5, 3, 7]);
  });

  it('filters by concept, unsafe only and text, together', () => {
    const { view, lines, q } = table();
    view.update('p.jsonl', 4, ROWS, true, true);
    expect([...q<HTMLSelectElement>('.file-concept').options].map((o) => o.value)).toEqual(['', 'cooking', 'finance', 'violence']);
    const search = q<HTMLInputElement>('.file-search');
    search.value = 'BREAD';
    search.dispatchEvent(new Event('input'));
    expect(lines()).toEqual([1, 5]);
    search.value = '';
    search.dispatchEvent(new Event('input'));
    const unsafe = q<HTMLInputElement>('.file-unsafe');
    unsafe.checked = true;
    unsafe.dispatchEvent(new Event('change'));
    expect(lines()).toEqual([3, 7]);
    unsafe.checked = false;
    unsafe.dispatchEvent(new Event('change'));
    const concept = q<HTMLSelectElement>('.file-concept');
    concept.value = 'finance';
    concept.dispatchEvent(new Event('change'));
    expect(lines()).toEqual([5]);
    expect(q('.file-summary').textContent).toContain('1 shown');
  });

  it('asks the host for a clicked row\'s prompt (by its index, whatever the sort) and for the CSV', () => {
    const { view, opened, exports, q } = table();
    view.update('p.jsonl', 4, ROWS, true, true);
    q<HTMLElement>('th[data-key="confidence"]').click();
    q<HTMLElement>('tbody tr:first-child td.prompt').click();
    expect(opened).toEqual([2]);
    q<HTMLButtonElement>('.file-export').click();
    expect(exports()).toBe(1);
  });

  it('renders 1,000 rows and re-sorts them quickly enough to use', () => {
    const { view, lines, q } = table();
    const concepts = ['cooking', 'violence', 'finance', 'fraud'];
    const many = Array.from({ length: 1000 }, (_, i) => row(i, concepts[i % 4], ((i * 37) % 100) / 100, i % 4 === 1 ? false : true));
    const started = performance.now();
    for (let at = 0; at < many.length; at += 32) view.update('big.jsonl', 1000, many.slice(at, at + 32), at === 0, at + 32 >= 1000);
    const streamedMs = performance.now() - started;
    const sortStarted = performance.now();
    q<HTMLElement>('th[data-key="margin"]').click();
    const sortMs = performance.now() - sortStarted;
    console.log(`fileTable happy-dom: 1000 rows in 32-row batches rendered in ${streamedMs.toFixed(0)} ms; one re-sort ${sortMs.toFixed(0)} ms`);
    expect(lines()).toHaveLength(1000);
    expect(sortMs).toBeLessThan(5000);
  });
});

describe('the table messages', () => {
  it('are checked on both sides', () => {
    expect(isFromWebviewMessage({ type: 'openFileRow', index: 3 })).toBe(true);
    expect(isFromWebviewMessage({ type: 'openFileRow', index: -1 })).toBe(false);
    expect(isFromWebviewMessage({ type: 'openFileRow', index: 1.5 })).toBe(false);
    expect(isFromWebviewMessage({ type: 'exportFileTable' })).toBe(true);
    expect(isToWebviewMessage({ type: 'fileRows', file: 'a', total: 1, rows: [], reset: true, done: false })).toBe(true);
    expect(isToWebviewMessage({ type: 'fileRows', file: 'a', total: 1, rows: 'x', reset: true, done: false })).toBe(false);
  });
});
