// `seer compare` as text: both headlines side by side, what changed, the word diff of the prompts, each
// headline concept over the layers on both sides, and a compact table of the per-layer probability changes
// (the concepts that moved most; --json has them all).
import { type Comparison, type CompareSide, points, type WordDiffPart } from '../compare';
import { percent, sparkline, type Style } from './terminalStyle';

/** Concept columns in the text table of differences: the ones that moved most (all of them are in --json). */
export const TABLE_CONCEPTS = 6;

export function renderComparison(c: Comparison, s: Style): string {
  const sideWidth = 48;
  const headline = (x: CompareSide) => `${x.headline.concept} ${percent(x.headline.confidence)} (margin ${x.headline.margin.toFixed(2)}) ${safety(x.headline.safe)}`;
  const where = (x: CompareSide) => `layer ${x.headline.layer} · bank ${x.bank} · ${x.bundle.name}`;
  const row = (label: string, a: string, b: string) => `${label.padEnd(9)} ${fit(a, sideWidth).padEnd(sideWidth)}  ${fit(b, sideWidth)}`;
  const change = c.headlineChanged
    ? `headline ${c.a.headline.concept} → ${c.b.headline.concept}`
    : `headline unchanged (${c.a.headline.concept})`;
  const out = [
    row('', 'A', 'B'), // plain: escape codes inside padded cells would break the columns
    row('prompt', oneLine(c.a.text), oneLine(c.b.text)),
    row('headline', headline(c.a), headline(c.b)),
    row('model', where(c.a), where(c.b)),
    `${'change'.padEnd(9)} ${s.bold(change)}; confidence ${points(c.confidenceChange)} pts` +
      (c.largestChange ? `; largest move: ${c.largestChange.concept} ${points(c.largestChange.change)} pts at layer ${c.largestChange.layer}` : ''),
    '',
    `words     ${renderWordDiff(c.textDiff, s)}`,
  ];
  if (c.layers.length === 0) {
    out.push('', 'The two results share no scored layer: nothing to compare per layer.');
    return out.join('\n');
  }
  out.push('', 'each headline concept over the layers (A | B):');
  const nameWidth = Math.max(...c.headlineCurves.map((h) => h.concept.length));
  for (const h of c.headlineCurves) {
    out.push(`  ${h.concept.padEnd(nameWidth)}  A ${curve(h.a)}  B ${curve(h.b)}`);
  }
  out.push('', ...differenceTable(c));
  if (c.conceptsOnly.a.length || c.conceptsOnly.b.length) {
    out.push(`not compared (in one bank only): ${[...c.conceptsOnly.a.map((x) => `${x} (A)`), ...c.conceptsOnly.b.map((x) => `${x} (B)`)].join(', ')}`);
  }
  return out.join('\n');
}

/** The words both prompts share plain, A's words as [-removed-] and B's as {+added+} (git's word-diff notation). */
export function renderWordDiff(parts: WordDiffPart[], s: Style): string {
  return parts.map((p, i) => {
    const text = oneLine(p.text);
    if (p.op === 'same') return text;
    // A replacement reads "[-old-] {+new+}" even where the old words ended the prompt without a space.
    const after = p.op === 'removed' && parts[i + 1]?.op === 'added' ? ' ' : trailingSpace(text);
    return (p.op === 'removed' ? s.red(`[-${text.trim()}-]`) : s.green(`{+${text.trim()}+}`)) + after;
  }).join('');
}

function differenceTable(c: Comparison): string[] {
  const movement = c.concepts.map((_, j) => Math.max(...c.differences.map((row) => Math.abs(row[j]))));
  const shown = c.concepts.map((_, j) => j).sort((x, y) => movement[y] - movement[x]).slice(0, TABLE_CONCEPTS);
  const names = shown.map((j) => fit(c.concepts[j], 12));
  const width = Math.max(7, ...names.map((n) => n.length));
  const hidden = c.concepts.length - shown.length;
  return [
    `probability change B − A, percentage points${hidden > 0 ? ` (the ${shown.length} concepts that moved most; ${hidden} more in --json)` : ''}:`,
    `  layer  ${names.map((n) => n.padStart(width)).join('  ')}`,
    ...c.layers.map((l, i) => `  ${String(l).padStart(5)}  ${shown.map((j) => points(c.differences[i][j]).padStart(width)).join('  ')}`),
  ];
}

function curve(values: Array<number | null>): string {
  if (values.every((v) => v === null)) return '(not in bank)'.padEnd(values.length);
  return sparkline(values.map((v) => v ?? 0));
}

function safety(safe: boolean | null): string {
  return safe === true ? 'safe' : safe === false ? 'UNSAFE' : 'safety unknown';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

function trailingSpace(text: string): string {
  return /\s$/.test(text) ? ' ' : '';
}

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
