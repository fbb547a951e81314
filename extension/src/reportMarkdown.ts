import type { EvaluateReport } from '../../common/protocol';

const f = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

/** The evaluation report as Markdown (opened in a preview after calibration). */
export function calibrationReportMarkdown(r: EvaluateReport): string {
  const rows = r.perLayer.map((l) =>
    `| ${l.layer}${l.layer === r.targetLayer ? ' (target)' : ''}${l.layer === r.bestLayer ? ' (best)' : ''} | ${f(l.accuracy)} | ${f(l.macroF1)} | ` +
    `${f(l.sameConceptCos)} | ${f(l.differentConceptCos)} | ${f(l.gap)} | ${f(l.silhouette)} | ${f(l.samePairCos)} | ${f(l.differentPairCos)} |`);
  const conf = [
    `| true \\ predicted | ${r.concepts.join(' | ')} |`,
    `|---|${r.concepts.map(() => '---:').join('|')}|`,
    ...r.confusionTarget.map((row, i) => `| ${r.concepts[i]} | ${row.join(' | ')} |`),
  ];
  return [
    `# SEER evaluation: ${r.dataset}`,
    '',
    `Bundle **${r.bundle.name}**, ${r.concepts.length} concepts, target layer ${r.targetLayer}, best layer ${r.bestLayer}. ` +
      `Rows: ${r.rows.rowsUsed} used, ${r.rows.rowsSkipped} skipped; ${r.seconds.toFixed(1)} s.`,
    '',
    '| layer | accuracy | macro F1 | same cos | different cos | gap | silhouette | same-pair cos | different-pair cos |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `## Confusion at the target layer (${r.targetLayer})`,
    '',
    ...conf,
    '',
  ].join('\n');
}
