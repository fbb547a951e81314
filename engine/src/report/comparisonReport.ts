// `seer compare` as text: every side's headline side by side, what changed from A on each other side, the
// word diff of each prompt against A's, each headline concept over the layers on every side, and per other
// side a compact table of the per-layer probability changes (the concepts that moved most; --json has them all).
import { type Comparison, type CompareSide, points, sideLabel, type SideChange, type WordDiffPart } from '../compare';
import { percent, sparkline, type Style } from './terminalStyle';

/** Concept columns in the text table of differences: the ones that moved most (all of them are in --json). */
export const TABLE_CONCEPTS = 6;

export function renderComparison(c: Comparison, s: Style): string {
  // Two sides keep the wide columns; more share about 100 characters.
  const sideWidth = c.sides.length === 2 ? 48 : Math.max(24, Math.floor(100 / c.sides.length));
  const headline = (x: CompareSide) => `${x.headline.concept} ${percent(x.headline.confidence)} (margin ${x.headline.margin.toFixed(2)}) ${safety(x.headline.safe)}`;
  const where = (x: CompareSide) => `layer ${x.headline.layer} · bank ${x.bank} · ${x.bundle.name}`;
  const row = (label: string, cells: string[]) =>
    `${label.padEnd(9)} ${cells.map((cell, k) => (k === cells.length - 1 ? fit(cell, sideWidth) : fit(cell, sideWidth).padEnd(sideWidth))).join('  ')}`;
  const a = c.sides[0];
  const pairwise = c.sides.length === 2;
  const out = [
    row('', c.sides.map((_, k) => sideLabel(k))), // plain: escape codes inside padded cells would break the columns
    row('prompt', c.sides.map((x) => oneLine(x.text))),
    row('headline', c.sides.map(headline)),
    row('model', c.sides.map(where)),
  ];
  for (const ch of c.changes) {
    const x = c.sides[ch.side];
    const verdict = ch.headlineChanged ? `headline ${a.headline.concept} → ${x.headline.concept}` : `headline unchanged (${a.headline.concept})`;
    out.push(`${(pairwise ? 'change' : `change ${sideLabel(ch.side)}`).padEnd(9)} ${s.bold(verdict)}; confidence ${points(ch.confidenceChange)} pts` +
      (ch.largestChange ? `; largest move: ${ch.largestChange.concept} ${points(ch.largestChange.change)} pts at layer ${ch.largestChange.layer}` : ''));
  }
  out.push('');
  for (const ch of c.changes) out.push(`${(pairwise ? 'words' : `words ${sideLabel(ch.side)}`).padEnd(9)} ${renderWordDiff(ch.textDiff, s)}`);
  if (c.layers.length === 0) {
    out.push('', `The ${pairwise ? 'two' : c.sides.length} results share no scored layer: nothing to compare per layer.`);
    return out.join('\n');
  }
  out.push('', `each headline concept over the layers (${c.sides.map((_, k) => sideLabel(k)).join(' | ')}):`);
  const nameWidth = Math.max(...c.headlineCurves.map((h) => h.concept.length));
  for (const h of c.headlineCurves) {
    out.push(`  ${h.concept.padEnd(nameWidth)}  ${h.values.map((v, k) => `${sideLabel(k)} ${curve(v)}`).join('  ')}`);
  }
  for (const ch of c.changes) out.push('', ...differenceTable(c, ch));
  const only = c.conceptsOnly.flatMap((names, k) => names.map((x) => `${x} (${sideLabel(k)})`));
  if (only.length) out.push(`not compared (not in every bank): ${only.join(', ')}`);
  return out.join('\n');
}

/** The words both prompts share plain, A's words as [-removed-] and the other side's as {+added+} (git's word-diff notation). */
export function renderWordDiff(parts: WordDiffPart[], s: Style): string {
  return parts.map((p, i) => {
    const text = oneLine(p.text);
    if (p.op === 'same') return text;
    // A replacement reads "[-old-] {+new+}" even where the old words ended the prompt without a space.
    const after = p.op === 'removed' && parts[i + 1]?.op === 'added' ? ' ' : trailingSpace(text);
    return (p.op === 'removed' ? s.red(`[-${text.trim()}-]`) : s.green(`{+${text.trim()}+}`)) + after;
  }).join('');
}

function differenceTable(c: Comparison, ch: SideChange): string[] {
  const movement = c.concepts.map((_, j) => Math.max(...ch.differences.map((row) => Math.abs(row[j]))));
  const shown = c.concepts.map((_, j) => j).sort((x, y) => movement[y] - movement[x]).slice(0, TABLE_CONCEPTS);
  const names = shown.map((j) => fit(c.concepts[j], 12));
  const width = Math.max(7, ...names.map((n) => n.length));
  const hidden = c.concepts.length - shown.length;
  return [
    `probability change ${sideLabel(ch.side)} − A, percentage points${hidden > 0 ? ` (the ${shown.length} concepts that moved most; ${hidden} more in --json)` : ''}:`,
    `  layer  ${names.map((n) => n.padStart(width)).join('  ')}`,
    ...c.layers.map((l, i) => `  ${String(l).padStart(5)}  ${shown.map((j) => points(ch.differences[i][j]).padStart(width)).join('  ')}`),
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
