// Comparing explanations (two or more prompts, or one prompt under two bundles): the first is the reference
// (A) and every other side is compared with it — what changed in the headline, the per-layer
// concept-probability differences, a word diff of the prompts — and every side's headline concept runs over
// the layers on every side. Pure (results in, data out), so the CLI (`seer compare`) and the panel share it;
// the layout is documented in docs/cli.md#compare.
import type { ExplainResult } from '../../common/protocol';
import { SeerError } from './errors';

/** Most explanations one comparison holds: more curves than this no longer read as one chart. */
export const MAX_COMPARE_SIDES = 6;

export interface CompareSide {
  text: string;
  bundle: { name: string; dir: string };
  bank: string;
  headline: { concept: string; confidence: number; margin: number; safe: boolean | null; layer: number };
}

/** One headline concept's probability at each compared layer on every side: values[side][layer] (null: not in that side's bank). */
export interface HeadlineCurve {
  concept: string;
  values: Array<Array<number | null>>;
}

/** One stretch of the word diff: words both prompts share, or words only A ('removed') or only the other side ('added') has. */
export interface WordDiffPart {
  op: 'same' | 'removed' | 'added';
  text: string;
}

/** How one side (B, C, …) differs from the reference A. */
export interface SideChange {
  /** Index of the side in `sides` (1 for B). */
  side: number;
  /** The side's headline concept differs from A's. */
  headlineChanged: boolean;
  /** The side's headline confidence minus A's (a difference of probabilities, in [-1, 1]). */
  confidenceChange: number;
  /** differences[i][j]: probability of concepts[j] at layers[i] on this side minus on A. */
  differences: number[][];
  /** The concept whose probability moved most at any compared layer, and where (null when nothing is compared). */
  largestChange: { concept: string; layer: number; change: number } | null;
  /** Word diff of A's prompt into this side's (empty parts never appear). */
  textDiff: WordDiffPart[];
}

export interface Comparison {
  /** The explanations compared, A first: A is the reference every other side is compared with. */
  sides: CompareSide[];
  /** Concepts every side's bank has, in A's order: the columns of each change's `differences`. */
  concepts: string[];
  /** conceptsOnly[k]: the concepts of side k's bank left out of `concepts` (some other bank lacks them). */
  conceptsOnly: string[][];
  /** Layers every result scored, increasing: the rows of `differences` and the entries of the curves. */
  layers: number[];
  /** Each side's headline concept, in side order, each concept once. */
  headlineCurves: HeadlineCurve[];
  /** changes[k - 1]: side k compared with A (one entry for a pairwise comparison). */
  changes: SideChange[];
}

/** Letter of side k in every view: A, B, C, … */
export function sideLabel(k: number): string {
  return String.fromCharCode(65 + k);
}

/** Compares `others` (at least one, at most MAX_COMPARE_SIDES − 1) with the reference `a`. */
export function compareResults(a: ExplainResult, ...others: ExplainResult[]): Comparison {
  const results = [a, ...others];
  if (others.length === 0 || results.length > MAX_COMPARE_SIDES) {
    throw new SeerError('INVALID_ARGUMENT', `A comparison takes 2 to ${MAX_COMPARE_SIDES} explanations, got ${results.length}.`, {
      fix: `Compare at most ${MAX_COMPARE_SIDES} at a time (the first is the reference).`,
    });
  }
  const concepts = a.concepts.filter((c) => results.every((r) => r.concepts.includes(c)));
  const scored = results.map((r) => new Map(r.layers.map((l) => [l.layer, l.probs])));
  const layers = [...scored[0].keys()].filter((l) => scored.every((s) => s.has(l))).sort((x, y) => x - y);
  const prob = (k: number, layer: number, concept: string): number | null => {
    const i = results[k].concepts.indexOf(concept);
    return i < 0 ? null : scored[k].get(layer)![i];
  };
  const change = (k: number): SideChange => {
    const r = results[k];
    const differences = layers.map((l) => concepts.map((c) => prob(k, l, c)! - prob(0, l, c)!));
    let largestChange: SideChange['largestChange'] = null;
    differences.forEach((row, i) => row.forEach((d, j) => {
      if (!largestChange || Math.abs(d) > Math.abs(largestChange.change)) largestChange = { concept: concepts[j], layer: layers[i], change: d };
    }));
    return {
      side: k,
      headlineChanged: a.headline.concept !== r.headline.concept,
      confidenceChange: r.headline.confidence - a.headline.confidence,
      differences,
      largestChange,
      textDiff: diffWords(a.text, r.text),
    };
  };
  const headlines = [...new Set(results.map((r) => r.headline.concept))];
  return {
    sides: results.map(side),
    concepts,
    conceptsOnly: results.map((r) => r.concepts.filter((c) => !concepts.includes(c))),
    layers,
    headlineCurves: headlines.map((concept) => ({ concept, values: results.map((_, k) => layers.map((l) => prob(k, l, concept))) })),
    changes: others.map((_, i) => change(i + 1)),
  };
}

/** A probability difference in percentage points, signed: "+12.3", "-0.4", "0.0" (the CLI and the panel). */
export function points(d: number): string {
  const v = (100 * d).toFixed(1);
  return d > 0 && v !== '0.0' ? `+${v}` : v === '-0.0' ? '0.0' : v;
}

function side(r: ExplainResult): CompareSide {
  const h = r.headline;
  return {
    text: r.text,
    bundle: { name: r.bundle.name, dir: r.bundle.dir },
    bank: r.bank,
    headline: { concept: h.concept, confidence: h.confidence, margin: h.margin, safe: h.safe, layer: h.layer },
  };
}

/** Words per prompt the diff compares; beyond it the rest of each prompt is one replaced stretch (bounds the O(n·m) table). */
export const DIFF_MAX_WORDS = 2000;

/**
 * A word-level diff: the prompts are split into words, each keeping the whitespace after it, and a
 * longest-common-subsequence table over the words (compared without that whitespace, so a changed space or
 * line break is not a change) picks the shared ones. 'same' parts carry A's text, so the 'same' and
 * 'removed' parts joined give back A exactly. O(n·m) time and memory in words, bounded by DIFF_MAX_WORDS; a
 * shared prefix and suffix are taken off first, so a small edit to a long prompt costs little.
 */
export function diffWords(before: string, after: string): WordDiffPart[] {
  const x = splitWords(before);
  const y = splitWords(after);
  const xk = x.map((w) => w.trim());
  const yk = y.map((w) => w.trim());
  let start = 0;
  while (start < x.length && start < y.length && xk[start] === yk[start]) start++;
  let end = 0;
  while (end < x.length - start && end < y.length - start && xk[x.length - 1 - end] === yk[y.length - 1 - end]) end++;
  const xs = x.slice(start, x.length - end);
  const ys = y.slice(start, y.length - end);
  const parts: WordDiffPart[] = [];
  const push = (op: WordDiffPart['op'], text: string): void => {
    if (text === '') return;
    const last = parts[parts.length - 1];
    if (last?.op === op) last.text += text;
    else parts.push({ op, text });
  };
  push('same', x.slice(0, start).join(''));
  const xm = xs.slice(0, DIFF_MAX_WORDS);
  const ym = ys.slice(0, DIFF_MAX_WORDS);
  const xmk = xm.map((w) => w.trim());
  const ymk = ym.map((w) => w.trim());
  // lcs[i][j]: length of the longest common subsequence of xm[i..] and ym[j..].
  const lcs = Array.from({ length: xm.length + 1 }, () => new Uint32Array(ym.length + 1));
  for (let i = xm.length - 1; i >= 0; i--) {
    for (let j = ym.length - 1; j >= 0; j--) lcs[i][j] = xmk[i] === ymk[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  let i = 0;
  let j = 0;
  while (i < xm.length || j < ym.length) {
    if (i < xm.length && j < ym.length && xmk[i] === ymk[j]) {
      push('same', xm[i++]);
      j++;
    } else if (j >= ym.length || (i < xm.length && lcs[i + 1][j] >= lcs[i][j + 1])) push('removed', xm[i++]);
    else push('added', ym[j++]);
  }
  push('removed', xs.slice(DIFF_MAX_WORDS).join(''));
  push('added', ys.slice(DIFF_MAX_WORDS).join(''));
  push('same', x.slice(x.length - end).join(''));
  return parts;
}

/** Words with their trailing whitespace ("how ", "do ", "I"); leading whitespace is a word of its own. */
function splitWords(text: string): string[] {
  return text.match(/\s+|\S+\s*/g) ?? [];
}
