// Plain-text summaries of a calibration and an evaluation for the terminal.
import type { CalibrateResult, EvaluateReport } from '../../../common/protocol';
import { completeReport } from '../calibration/fullReport';
import { describeRows } from '../calibration/rowAccounting';

const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '    –' : x.toFixed(3).padStart(6));
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '    –' : `${(100 * x).toFixed(1)}%`.padStart(6));

export function renderCalibration(r: CalibrateResult): string {
  const b = r.bank;
  const counts = b.stats[0]?.counts ?? [];
  const out = [
    `bank "${b.name}" written to ${r.bankPath}`,
    `concepts (${b.concepts.length}): ${b.concepts.map((c, i) => `${c} (${counts[i]})`).join(', ')}`,
    ...(b.safeConcepts.length ? [`safe concepts: ${b.safeConcepts.join(', ')}`] : []),
    `rows: ${describeRows(r.rows)}`,
    '',
    'layer  same-cos  diff-cos     gap  silhouette  held-out acc',
    ...b.stats.map((s) => `${String(s.layer).padStart(5)}  ${f3(s.sameConceptCos)}    ${f3(s.differentConceptCos)}  ${f3(s.gap)}      ${f3(s.silhouette)}        ${pct(s.heldOutAccuracy)}`),
    '',
    `${r.seconds.toFixed(1)} s: ${r.examplesPerSecond.toFixed(1)} rows/s, ${Math.round(r.tokensPerSecond)} tokens/s`,
  ];
  return out.join('\n');
}

export function renderEvaluation(given: EvaluateReport): string {
  const r = completeReport(given);
  const hasBinary = r.safeConcepts.length > 0;
  const out = [
    `${r.label}  on ${r.dataset}`,
    `prototypes: ${r.prototypeSource === 'bank' ? `bank ${r.bank}` : `${(100 * r.split).toFixed(0)}% of each concept (seed ${r.seed}); the rest is classified`}; pooling ${r.pooling}`,
    `rows: ${describeRows(r.rows)}`,
    '',
    `layer  accuracy  macro-F1     gap  silhouette  same-pair  diff-pair${hasBinary ? '  safe/unsafe' : ''}`,
    ...r.perLayer.map((l) => {
      const mark = l.layer === r.bestLayer ? '*' : l.layer === r.targetLayer ? '>' : ' ';
      return `${mark}${String(l.layer).padStart(4)}    ${pct(l.accuracy)}    ${f3(l.macroF1)}  ${f3(l.gap)}      ${f3(l.silhouette)}     ${f3(l.samePairCos)}     ${f3(l.differentPairCos)}${hasBinary ? `       ${pct(l.binaryAccuracy)}` : ''}`;
    }),
    `(* best layer ${r.bestLayer}, > target layer ${r.targetLayer})`,
    ...baselineLines(r),
    '',
    `confusion at layer ${r.bestLayer} (rows: true, columns: predicted):`,
    ...confusionLines(r.concepts, r.confusionBest),
    ...r.warnings.map((w) => `warning: ${w}`),
    `${r.seconds.toFixed(1)} s: ${r.examplesPerSecond.toFixed(1)} rows/s, ${Math.round(r.tokensPerSecond)} tokens/s`,
  ];
  return out.join('\n');
}

/** The model's accuracy beside chance and the TF-IDF baseline, then the reliability table. */
function baselineLines(r: EvaluateReport): string[] {
  const acc = (l: number) => pct(r.perLayer.find((x) => x.layer === l)?.accuracy).trim();
  const out: string[] = [];
  if (r.baselines) {
    const b = r.baselines;
    out.push(
      '',
      `accuracy: best layer ${r.bestLayer} ${acc(r.bestLayer)}, target layer ${r.targetLayer} ${acc(r.targetLayer)}; ` +
        `TF-IDF bag of words ${pct(b.tfidf.accuracy).trim()} (macro-F1 ${f3(b.tfidf.macroF1).trim()}, ${b.tfidf.rowsClassified} rows); ` +
        `chance ${pct(b.uniformChance).trim()} (uniform), ${pct(b.majority.accuracy).trim()} (always "${b.majority.concept}")`,
    );
  }
  if (r.whitened) out.push(whitenedLine(r.whitened, r.targetLayer));
  if (r.reliability) {
    const rel = r.reliability;
    out.push(
      '',
      `confidence at layer ${rel.layer} (softmax of ${rel.logitScale} × cosine): expected calibration error ${f3(rel.ece).trim()} over ${rel.rows} rows`,
      `  ${'probability'.padEnd(11)}  ${'rows'.padStart(6)}  ${'mean prob'.padStart(9)}  ${'accuracy'.padStart(8)}`,
      ...rel.bins.map((b) => `  ${`${b.from.toFixed(1)}–${b.to.toFixed(1)}`.padEnd(11)}  ${String(b.count).padStart(6)}  ${pct(b.meanConfidence).padStart(9)}  ${pct(b.accuracy).padStart(8)}`),
    );
  }
  return out;
}

/** The same states under the whitened read-out: beside TF-IDF, it says whether a gap is the states' or the read-out's. */
function whitenedLine(w: NonNullable<EvaluateReport['whitened']>, targetLayer: number): string {
  if ('skipped' in w) return `whitened read-out: skipped (${w.skipped})`;
  const acc = (l: number) => pct(w.perLayer.find((x) => x.layer === l)?.accuracy).trim();
  const target = w.perLayer.some((x) => x.layer === targetLayer) ? `, target layer ${targetLayer} ${acc(targetLayer)}` : '';
  return `the same states, whitened cosine (fitted on the prototype part): best layer ${w.bestLayer} ${acc(w.bestLayer)}${target}`;
}

function confusionLines(concepts: string[], m: number[][]): string[] {
  const names = concepts.map((c) => (c.length > 18 ? `${c.slice(0, 17)}…` : c));
  const w = Math.max(...names.map((n) => n.length));
  const cw = Math.max(4, ...m.flat().map((n) => String(n).length + 1));
  return [
    `${' '.repeat(w)}  ${names.map((_, i) => `#${i}`.padStart(cw)).join('')}`,
    ...m.map((row, i) => `${names[i].padEnd(w)}  ${row.map((n) => String(n).padStart(cw)).join('')}  #${i}`),
  ];
}
