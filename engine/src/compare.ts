// Comparing two explanations (two prompts, or one prompt under two bundles): what changed in the headline,
// how each side's headline concept runs over the layers on both sides, the per-layer concept-probability
// differences, and a word diff of the prompts. Pure (results in, data out), so the CLI (`seer compare`) and
// the panel share it; the layout is documented in docs/cli.md#compare.
import type { ExplainResult } from '../../common/protocol';

export interface CompareSide {
  text: string;
  bundle: { name: string; dir: string };
  bank: string;
  headline: { concept: string; confidence: number; margin: number; safe: boolean | null; layer: number };
}

/** One side's headline concept, its probability at each compared layer on both sides (null: not in that side's bank). */
export interface HeadlineCurve {
  concept: string;
  a: Array<number | null>;
  b: Array<number | null>;
}

/** One stretch of the word diff: words both prompts share, or words only A ('removed') or only B ('added') has. */
export interface WordDiffPart {
  op: 'same' | 'removed' | 'added';
  text: string;
}

export interface Comparison {
  a: CompareSide;
  b: CompareSide;
  /** B's headline concept differs from A's. */
  headlineChanged: boolean;
  /** B's headline confidence minus A's (a difference of probabilities, in [-1, 1]). */
  confidenceChange: number;
  /** Concepts of both banks, in A's order: the columns of `differences`. */
  concepts: string[];
  /** Concepts only one side's bank has (left out of `differences`). */
  conceptsOnly: { a: string[]; b: string[] };
  /** Layers both results scored, increasing: the rows of `differences` and the entries of the curves. */
  layers: number[];
  /** A's headline concept, then B's (once when they are the same concept). */
  headlineCurves: HeadlineCurve[];
  /** differences[i][j]: probability of concepts[j] at layers[i] in B minus in A. */
  differences: number[][];
  /** The concept whose probability moved most at any compared layer, and where (null when nothing is compared). */
  largestChange: { concept: string; layer: number; change: number } | null;
  /** Word diff of A's prompt into B's (empty parts never appear). */
  textDiff: WordDiffPart[];
}

export function compareResults(a: ExplainResult, b: ExplainResult): Comparison {
  const concepts = a.concepts.filter((c) => b.concepts.includes(c));
  const layerOf = (r: ExplainResult) => new Map(r.layers.map((l) => [l.layer, l]));
  const aLayers = layerOf(a);
  const bLayers = layerOf(b);
  const layers = [...aLayers.keys()].filter((l) => bLayers.has(l)).sort((x, y) => x - y);
  const prob = (r: ExplainResult, scores: Map<number, ExplainResult['layers'][number]>, layer: number, concept: string): number | null => {
    const i = r.concepts.indexOf(concept);
    return i < 0 ? null : scores.get(layer)!.probs[i];
  };
  const curve = (concept: string): HeadlineCurve => ({
    concept,
    a: layers.map((l) => prob(a, aLayers, l, concept)),
    b: layers.map((l) => prob(b, bLayers, l, concept)),
  });
  const differences = layers.map((l) => concepts.map((c) => prob(b, bLayers, l, c)! - prob(a, aLayers, l, c)!));
  let largestChange: Comparison['largestChange'] = null;
  differences.forEach((row, i) => row.forEach((d, j) => {
    if (!largestChange || Math.abs(d) > Math.abs(largestChange.change)) largestChange = { concept: concepts[j], layer: layers[i], change: d };
  }));
  const headlines = [...new Set([a.headline.concept, b.headline.concept])];
  return {
    a: side(a),
    b: side(b),
    headlineChanged: a.headline.concept !== b.headline.concept,
    confidenceChange: b.headline.confidence - a.headline.confidence,
    concepts,
    conceptsOnly: { a: a.concepts.filter((c) => !b.concepts.includes(c)), b: b.concepts.filter((c) => !a.concepts.includes(c)) },
    layers,
    headlineCurves: headlines.map(curve),
    differences,
    largestChange,
    textDiff: diffWords(a.text, b.text),
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
