// A cheap first pass over the file (no model): the labels and their counts. It lets the model pass know
// its total (progress, ETA), split each concept exactly, and reject a wrong label set before any compute.
import type { DatasetSpec } from '../../../common/protocol';
import { SeerError } from '../errors';
import { LIMITS } from '../limits';
import { readDataset } from './datasetReader';
import { RowAccountant } from './rowAccounting';

export interface DatasetScan {
  /** Label → usable rows, in order of first appearance. */
  labelCounts: Map<string, number>;
}

export async function scanDataset(spec: DatasetSpec, signal?: AbortSignal): Promise<DatasetScan> {
  const rows = new RowAccountant();
  const labelCounts = new Map<string, number>();
  for await (const row of readDataset(spec, rows, { signal })) labelCounts.set(row.label, (labelCounts.get(row.label) ?? 0) + 1);
  const acct = rows.snapshot();
  if (labelCounts.size === 0) {
    const why = Object.entries(acct.skipped).map(([r, n]) => `${r}: ${n}`).join('; ');
    throw new SeerError('DATASET_NO_ROWS', `${spec.path} has no usable rows (${acct.rowsRead} read${why ? `; skipped — ${why}` : ''}).`, {
      file: spec.path,
      fix: {
        cli: `Check --text (${spec.textColumns.join(',')}) and --label (${spec.labelColumn}) name the columns holding the text and the concept.`,
        editor: `Check that the text column(s) ${spec.textColumns.join(', ')} and the label column ${spec.labelColumn} hold the text and the concept.`,
      },
    });
  }
  return { labelCounts };
}

/** Concepts usable for prototypes and pairwise statistics: at least two examples. */
export function conceptsWithPairs(scan: DatasetScan): { concepts: string[]; singletons: string[] } {
  const concepts: string[] = [];
  const singletons: string[] = [];
  for (const [label, n] of scan.labelCounts) (n >= 2 ? concepts : singletons).push(label);
  return { concepts, singletons };
}

export const SINGLETON_REASON = 'concept with a single example';

export function singletonWarning(singletons: string[]): string {
  const shown = singletons.slice(0, 8).map((s) => `"${s}"`).join(', ');
  const more = singletons.length > 8 ? ` and ${singletons.length - 8} more` : '';
  return `${singletons.length} concept(s) have a single example and were left out (a concept needs two to be measured): ${shown}${more}.`;
}

export function requireTwoConcepts(spec: DatasetSpec, scan: DatasetScan, concepts: string[]): void {
  if (concepts.length >= 2) return;
  const found = [...scan.labelCounts].map(([l, n]) => `"${l}" (${n})`).join(', ');
  throw new SeerError('DATASET_TOO_FEW_CONCEPTS', `${spec.path}: need at least two concepts with two or more examples each; found ${found || 'none'}.`, {
    file: spec.path,
    fix: {
      cli: `Check that --label ${spec.labelColumn} is the concept column, and add examples for more concepts.`,
      editor: `Check that ${spec.labelColumn} is the concept column, and add examples for more concepts.`,
    },
  });
}

/** A bank's statistics grow with the square of its concepts (engine/src/limits.ts): refuse more before any model work. */
export function requireConceptLimit(spec: DatasetSpec, concepts: string[]): void {
  const max = LIMITS.conceptsPerBank;
  if (concepts.length <= max) return;
  throw new SeerError('DATASET_TOO_MANY_CONCEPTS', `${spec.path}: ${concepts.length} concepts (labels with two or more examples); a bank holds at most ${max}.`, {
    file: spec.path,
    fix: {
      cli: `Check that --label ${spec.labelColumn} is the concept column, or merge labels (or split the data into several banks) to ${max} concepts or fewer.`,
      editor: `Check that ${spec.labelColumn} is the concept column, or merge labels (or split the data into several banks) to ${max} concepts or fewer.`,
    },
  });
}

export function checkSafeConcepts(safe: string[], concepts: string[], where: string): void {
  const unknown = safe.filter((s) => !concepts.includes(s));
  if (unknown.length === 0) return;
  throw new SeerError('SAFE_CONCEPT_UNKNOWN', `The safe concepts include concept(s) not in ${where}: ${unknown.map((s) => `"${s}"`).join(', ')}.`, {
    fix: { cli: `Choose --safe from: ${concepts.join(', ')}.`, editor: `Choose the safe concepts from: ${concepts.join(', ')}.` },
  });
}

