// What the calibrate column pickers show and preselect, from a dataset's first rows (engine datasetPreview):
// a few sample values per column, and the text column to start with. Pure, so that it is unit-tested.
import type { DatasetPreview } from '../../engine/src/api';

const SAMPLE_VALUES = 3;
const SAMPLE_CHARS = 40;
/** Names that say "the example text"; the first such column whose values vary is preselected. */
const TEXT_NAME = /prompt|text|question|input|sentence|content|message/i;

/** The first few non-empty values of `column`, each on one line and cut to ~40 characters: "a · b · c". */
export function sampleValues(preview: DatasetPreview, column: string): string {
  const values: string[] = [];
  for (const row of preview.rows) {
    const v = (row[column] ?? '').replace(/\s+/g, ' ').trim();
    if (v) values.push(v.length > SAMPLE_CHARS ? `${v.slice(0, SAMPLE_CHARS - 1)}…` : v);
    if (values.length === SAMPLE_VALUES) break;
  }
  return values.length ? values.join(' · ') : '(empty in the first rows)';
}

/**
 * The text column to preselect: a text-like column whose values differ between rows. A column with one value
 * in every row (a shared instruction template, often named "prompt") says nothing about the concept, so it is
 * never preselected. Named columns (prompt, text, …) come first, then the column with the longest values;
 * undefined when no column qualifies (the user picks).
 */
export function preferredTextColumn(preview: DatasetPreview): string | undefined {
  const candidates = preview.columns.filter((c) => varies(preview, c) && !numeric(preview, c));
  const named = candidates.find((c) => TEXT_NAME.test(c));
  if (named) return named;
  const meanLength = (c: string) => preview.rows.reduce((n, r) => n + (r[c] ?? '').length, 0) / Math.max(1, preview.rows.length);
  // A short code ("A", "yes") is a label, not a text: ask for a few words on average.
  return candidates.filter((c) => meanLength(c) >= 20).sort((a, b) => meanLength(b) - meanLength(a))[0];
}

function varies(preview: DatasetPreview, column: string): boolean {
  return new Set(preview.rows.map((r) => (r[column] ?? '').trim())).size > 1;
}

function numeric(preview: DatasetPreview, column: string): boolean {
  const values = preview.rows.map((r) => (r[column] ?? '').trim()).filter(Boolean);
  return values.length > 0 && values.every((v) => Number.isFinite(Number(v)));
}
