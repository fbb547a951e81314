// The Explain File table: one row per prompt of a file (line, prompt, concept, confidence, margin, safety),
// sortable by any column and filtered by concept, unsafe-only and a text search. Rows arrive batch by batch;
// a click asks the host to open that prompt's full explanation, Export asks it to write the CSV.
import type { FileRow } from '../../common/protocol';

/** Rows put in the DOM at most (a file can hold 100,000 prompts): filter or sort to reach the others. */
export const MAX_ROWS_SHOWN = 2000;
/** While batches stream in, the table is redrawn at most this often (each redraw re-sorts every row). */
const STREAM_REDRAW_MS = 300;

export type SortKey = 'line' | 'text' | 'concept' | 'confidence' | 'margin' | 'safe';
export interface TableFilter {
  /** '' = every concept. */
  concept: string;
  unsafeOnly: boolean;
  search: string;
}
export interface TableSort {
  key: SortKey;
  descending: boolean;
}

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'line', label: 'Line' },
  { key: 'text', label: 'Prompt' },
  { key: 'concept', label: 'Concept' },
  { key: 'confidence', label: 'Confidence' },
  { key: 'margin', label: 'Margin' },
  { key: 'safe', label: 'Safety' },
];

/** unsafe first when ascending, then unknown, then safe: the rows a reviewer looks for come first. */
const safetyRank = (safe: boolean | null): number => (safe === false ? 0 : safe === null ? 1 : 2);

export function filterRows(rows: FileRow[], f: TableFilter): FileRow[] {
  const needle = f.search.trim().toLowerCase();
  return rows.filter((r) => (!f.concept || r.concept === f.concept) && (!f.unsafeOnly || r.safe === false) &&
    (!needle || r.text.toLowerCase().includes(needle)));
}

export function sortRows(rows: FileRow[], s: TableSort): FileRow[] {
  const value = (r: FileRow): number | string =>
    s.key === 'safe' ? safetyRank(r.safe) : s.key === 'text' || s.key === 'concept' ? r[s.key].toLowerCase() : r[s.key];
  const sign = s.descending ? -1 : 1;
  // Ties keep file order, so a sort by concept lists each concept's prompts top to bottom.
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    return (va < vb ? -sign : va > vb ? sign : 0) || a.index - b.index;
  });
}

export const safetyText = (safe: boolean | null): string => (safe === null ? '?' : safe ? 'safe' : 'unsafe');

export interface FileTableEvents {
  open(index: number): void;
  exportCsv(): void;
}

export class FileTableView {
  readonly element: HTMLElement;
  private rows: FileRow[] = [];
  private file = '';
  private total = 0;
  private done = false;
  private filter: TableFilter = { concept: '', unsafeOnly: false, search: '' };
  private sort: TableSort = { key: 'line', descending: false };
  private readonly summary: HTMLElement;
  private readonly conceptSelect: HTMLSelectElement;
  private readonly head: HTMLTableRowElement;
  private readonly body: HTMLTableSectionElement;
  private redrawTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly doc: Document, private readonly events: FileTableEvents) {
    const el = (tag: string, cls?: string): HTMLElement => {
      const e = doc.createElement(tag);
      if (cls) e.className = cls;
      return e;
    };
    this.element = el('section', 'file-table');
    this.element.hidden = true;
    this.summary = el('div', 'file-summary');
    const controls = el('div', 'file-controls');
    this.conceptSelect = doc.createElement('select');
    this.conceptSelect.className = 'file-concept';
    this.conceptSelect.addEventListener('change', () => this.setFilter({ concept: this.conceptSelect.value }));
    const unsafe = doc.createElement('input');
    unsafe.type = 'checkbox';
    unsafe.className = 'file-unsafe';
    unsafe.addEventListener('change', () => this.setFilter({ unsafeOnly: unsafe.checked }));
    const unsafeLabel = el('label');
    unsafeLabel.append(unsafe, ' unsafe only');
    const search = doc.createElement('input');
    search.type = 'search';
    search.className = 'file-search';
    search.placeholder = 'Search prompts';
    search.addEventListener('input', () => this.setFilter({ search: search.value }));
    const exportButton = doc.createElement('button');
    exportButton.className = 'file-export';
    exportButton.textContent = 'Export CSV';
    exportButton.addEventListener('click', () => this.events.exportCsv());
    controls.append(this.conceptSelect, unsafeLabel, search, exportButton);
    const table = doc.createElement('table');
    this.head = doc.createElement('tr');
    for (const c of COLUMNS) {
      const th = doc.createElement('th');
      th.dataset.key = c.key;
      th.textContent = c.label;
      th.addEventListener('click', () => this.setSort(c.key));
      this.head.append(th);
    }
    table.createTHead().append(this.head);
    this.body = table.createTBody();
    // One listener for every row: a table of 100,000 rows must not carry 100,000 closures.
    this.body.addEventListener('click', (e) => {
      const tr = (e.target as Element).closest('tr');
      if (tr?.dataset.index) this.events.open(Number(tr.dataset.index));
    });
    this.element.append(this.summary, controls, table);
  }

  /** A batch of rows (`reset`: a new file's first batch). */
  update(file: string, total: number, rows: FileRow[], reset: boolean, done: boolean): void {
    if (reset) {
      this.rows = [];
      this.filter = { ...this.filter, concept: '' };
    }
    this.rows.push(...rows);
    this.file = file;
    this.total = total;
    this.done = done;
    this.element.hidden = false;
    // The first and the last batch show at once; those between are drawn together, a few times a second.
    if (reset || done) this.render();
    else this.redrawTimer ??= setTimeout(() => this.render(), STREAM_REDRAW_MS);
  }

  setFilter(f: Partial<TableFilter>): void {
    this.filter = { ...this.filter, ...f };
    this.render();
  }

  /** Clicking the sorted column again reverses it. */
  setSort(key: SortKey): void {
    this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : false };
    this.render();
  }

  private render(): void {
    clearTimeout(this.redrawTimer);
    this.redrawTimer = undefined;
    const matching = sortRows(filterRows(this.rows, this.filter), this.sort);
    const shown = matching.slice(0, MAX_ROWS_SHOWN);
    const risky = this.rows.filter((r) => r.risk).length;
    this.summary.textContent = `${this.file}: ${this.rows.length.toLocaleString()}${this.done ? '' : ` of ${this.total.toLocaleString()}`} prompts` +
      `${this.done ? '' : ' (explaining…)'} · ${risky.toLocaleString()} flagged · ${matching.length.toLocaleString()} shown` +
      `${matching.length > shown.length ? ` (the first ${shown.length.toLocaleString()} listed: filter or sort to see others)` : ''}`;
    this.renderConcepts();
    for (const th of this.head.children as HTMLCollectionOf<HTMLElement>) {
      th.setAttribute('aria-sort', th.dataset.key !== this.sort.key ? 'none' : this.sort.descending ? 'descending' : 'ascending');
    }
    const doc = this.doc;
    const cell = (text: string, cls?: string): HTMLTableCellElement => {
      const td = doc.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      return td;
    };
    const trs = shown.map((r) => {
      const tr = doc.createElement('tr');
      tr.dataset.index = String(r.index);
      if (r.risk) tr.className = 'risk';
      const concept = cell(r.concept);
      if (r.lowConfidence) {
        concept.append(' ', Object.assign(doc.createElement('span'), { className: 'low', textContent: 'low confidence', title: 'Far from every concept seen in calibration: the confidence means little.' }));
      }
      tr.append(cell(String(r.line), 'num'), cell(r.text, 'prompt'), concept, cell(`${(r.confidence * 100).toFixed(1)}%`, 'num'),
        cell(r.margin.toFixed(3), 'num'), cell(safetyText(r.safe), r.safe === false ? 'unsafe' : undefined));
      return tr;
    });
    this.body.replaceChildren(...trs);
  }

  private renderConcepts(): void {
    const concepts = [...new Set(this.rows.map((r) => r.concept))].sort();
    const current = this.conceptSelect.value;
    const wanted = ['', ...concepts];
    if ([...this.conceptSelect.options].map((o) => o.value).join('\n') === wanted.join('\n')) return;
    this.conceptSelect.replaceChildren(...wanted.map((c) => Object.assign(this.doc.createElement('option'), { value: c, textContent: c || 'All concepts' })));
    this.conceptSelect.value = wanted.includes(current) ? current : '';
  }
}
