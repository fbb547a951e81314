// The evaluation report as one self-contained HTML page (inline CSS and SVG, no script, no external
// resource): the CLI writes it with --html and the VS Code extension shows the same string in a panel.
// Several reports (e.g. SEER vs its baseline twin) are drawn in the same charts and side by side.
import type { EvaluateReport } from '../../../common/protocol';
import { type FullEvaluateReport, completeReport } from './fullReport';
import { describeRows } from './rowAccounting';
import { type Series, escapeXml, heatmap, legend, lineChart, seriesColor } from './svgCharts';

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));

export interface HtmlOptions {
  /** A Content-Security-Policy for the page (a VS Code webview sets one), added as a <meta> tag. */
  contentSecurityPolicy?: string;
  /** Nonce of the one <style> element, for a policy like style-src 'nonce-…'. */
  styleNonce?: string;
}

export function renderEvaluationHtml(given: EvaluateReport[], options: HtmlOptions = {}): string {
  if (given.length === 0) throw new Error('renderEvaluationHtml needs at least one report');
  const reports = given.map(completeReport);
  const csp = options.contentSecurityPolicy ? `\n<meta http-equiv="Content-Security-Policy" content="${escapeXml(options.contentSecurityPolicy)}">` : '';
  const nonce = options.styleNonce ? ` nonce="${escapeXml(options.styleNonce)}"` : '';
  const names = reports.map((r) => r.label);
  const datasets = [...new Set(reports.map((r) => r.dataset))];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">${csp}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SEER evaluation: ${escapeXml(names.join(' vs '))}</title>
<style${nonce}>${STYLE}</style></head>
<body>
<h1>SEER evaluation</h1>
<p class="sub">${escapeXml(names.join(' vs '))} on ${datasets.map((d) => `<code>${escapeXml(d)}</code>`).join(', ')}</p>
${summaryTable(reports)}
${notes(reports)}
<h2>Per layer</h2>
<p class="hint">Nearest-prototype classification of the held-out rows, and the paper's measures: representations of one concept should aggregate (high same-concept cosine) and different concepts disentangle (low different-concept cosine). The dashed line marks the target layer.</p>
${layerCharts(reports)}
<h2>Confusion and concept similarity</h2>
<p class="hint">Rows: true concept; columns: predicted concept (colour: share of the row). Prototype similarity: cosine between concept prototypes at the target layer (colour spans the off-diagonal range: dark = the most similar pair).</p>
<div class="side-by-side">${reports.map(matrices).join('')}</div>
</body></html>
`;
}

function summaryTable(reports: FullEvaluateReport[]): string {
  const at = (r: FullEvaluateReport, l: number) => r.perLayer.find((x) => x.layer === l);
  const rows: Array<[string, (r: FullEvaluateReport) => string]> = [
    ['Bundle', (r) => `${escapeXml(r.bundle.name)}<br><code>${escapeXml(r.bundle.dir)}</code>`],
    ['Prototypes', (r) => (r.prototypeSource === 'bank' ? `bank <code>${escapeXml(r.bank ?? '')}</code>` : `${pct(r.split)} of each concept (seed ${r.seed})`)],
    ['Pooling', (r) => r.pooling],
    ['Concepts', (r) => `${r.concepts.length}`],
    ['Rows', (r) => escapeXml(describeRows(r.rows))],
    ['Best layer', (r) => `${r.bestLayer}: accuracy ${pct(at(r, r.bestLayer)?.accuracy)}, macro-F1 ${num(at(r, r.bestLayer)?.macroF1)}`],
    ['Target layer', (r) => `${r.targetLayer}: accuracy ${pct(at(r, r.targetLayer)?.accuracy)}, macro-F1 ${num(at(r, r.targetLayer)?.macroF1)}`],
    ['Same / different concept cos (target)', (r) => `${num(at(r, r.targetLayer)?.sameConceptCos)} / ${num(at(r, r.targetLayer)?.differentConceptCos)} (gap ${num(at(r, r.targetLayer)?.gap)})`],
    ['Two-view same / different pair cos (target)', (r) => `${num(at(r, r.targetLayer)?.samePairCos)} / ${num(at(r, r.targetLayer)?.differentPairCos)}`],
    ['Silhouette (target)', (r) => num(at(r, r.targetLayer)?.silhouette)],
    ['Safe / unsafe accuracy (target)', (r) => (r.safeConcepts.length ? `${pct(at(r, r.targetLayer)?.binaryAccuracy)} (safe: ${escapeXml(r.safeConcepts.join(', '))})` : '–')],
    ['Throughput', (r) => `${Number.isFinite(r.examplesPerSecond) ? r.examplesPerSecond.toFixed(1) : '–'} rows/s, ${Number.isFinite(r.tokensPerSecond) ? Math.round(r.tokensPerSecond) : '–'} tokens/s (${r.seconds.toFixed(1)} s)`],
  ];
  const head = `<tr><th></th>${reports.map((r, i) => `<th><svg class="swatch" width="12" height="12"><rect width="12" height="12" rx="2" fill="${seriesColor(i)}"/></svg>${escapeXml(r.label)}</th>`).join('')}</tr>`;
  const body = rows.map(([name, cell]) => `<tr><th>${escapeXml(name)}</th>${reports.map((r) => `<td>${cell(r)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="summary">${head}\n${body}</table>`;
}

function notes(reports: FullEvaluateReport[]): string {
  const items = reports.flatMap((r) => [
    ...Object.entries(r.rows.skipped).map(([why, n]) => `${escapeXml(r.label)}: ${n} row(s) skipped — ${escapeXml(why)}`),
    ...r.warnings.map((w) => `${escapeXml(r.label)}: ${escapeXml(w)}`),
  ]);
  return items.length ? `<ul class="notes">${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '';
}

function layerCharts(reports: FullEvaluateReport[]): string {
  const xs = reports[0].perLayer.map((l) => l.layer);
  const target = reports[0].targetLayer;
  const marker = { x: target, label: `target ${target}` };
  const metric = (title: string, pick: (l: EvaluateReport['perLayer'][number]) => number | undefined, yDomain?: [number, number]) =>
    lineChart({
      title,
      xs,
      yDomain,
      marker,
      series: reports.map((r, i): Series => ({ name: r.label, color: seriesColor(i), values: r.perLayer.map((l) => pick(l) ?? NaN) })),
    });
  const twoView = lineChart({
    title: 'Two-view cosine: same (solid) / different (dashed)',
    xs,
    includeZero: false,
    marker,
    series: reports.flatMap((r, i): Series[] => [
      { name: `${r.label} same`, color: seriesColor(i), values: r.perLayer.map((l) => l.samePairCos) },
      { name: `${r.label} different`, color: seriesColor(i), dashed: true, values: r.perLayer.map((l) => l.differentPairCos) },
    ]),
  });
  const charts = [
    metric('Accuracy (nearest prototype)', (l) => l.accuracy, [0, 1]),
    metric('Macro-F1', (l) => l.macroF1, [0, 1]),
    metric('Gap: same − different concept cosine', (l) => l.gap),
    metric('Silhouette (cosine distance)', (l) => l.silhouette),
    twoView,
  ];
  if (reports.some((r) => r.safeConcepts.length)) charts.push(metric('Safe / unsafe accuracy', (l) => l.binaryAccuracy, [0, 1]));
  return legend(reports.map((r, i) => ({ name: r.label, color: seriesColor(i) }))) + `<div class="charts">${charts.join('\n')}</div>`;
}

function matrices(r: FullEvaluateReport): string {
  const confusion = (title: string, values: number[][]) =>
    heatmap({ title, rowLabels: r.concepts, colLabels: r.concepts, values, kind: 'counts', rowAxis: 'true', colAxis: 'predicted' });
  const binary = (title: string, values: number[][] | undefined) =>
    values ? heatmap({ title, rowLabels: ['safe', 'unsafe'], colLabels: ['safe', 'unsafe'], values, kind: 'counts', rowAxis: 'true', colAxis: 'predicted' }) : '';
  const parts = [
    confusion(`Confusion at best layer ${r.bestLayer}`, r.confusionBest),
    r.targetLayer !== r.bestLayer ? confusion(`Confusion at layer ${r.targetLayer}`, r.confusionTarget) : '',
    heatmap({ title: `Prototype similarity at layer ${r.targetLayer}`, rowLabels: r.concepts, colLabels: r.concepts, values: r.prototypeSimilarityTarget, kind: 'cosine' }),
    binary(`Safe / unsafe at layer ${r.bestLayer}`, r.binaryConfusionBest),
    r.targetLayer !== r.bestLayer ? binary(`Safe / unsafe at layer ${r.targetLayer}`, r.binaryConfusionTarget) : '',
  ];
  return `<section class="run"><h3>${escapeXml(r.label)}</h3>${parts.filter(Boolean).join('\n')}</section>`;
}

// VS Code webviews define the --vscode-* variables; a browser uses the fallbacks.
const STYLE = `
body { font-family: var(--vscode-font-family, system-ui, sans-serif); color: var(--vscode-foreground, #1f2328);
  background: var(--vscode-editor-background, #fff); margin: 1.5rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; } h2 { font-size: 1.15rem; margin-top: 1.8rem; } h3 { font-size: 1rem; }
.sub, .hint { color: var(--vscode-descriptionForeground, #59636e); } .hint { font-size: .85rem; max-width: 60rem; }
code { font-family: var(--vscode-editor-font-family, ui-monospace, monospace); font-size: .85em; }
table.summary { border-collapse: collapse; font-size: .9rem; }
table.summary th, table.summary td { border: 1px solid var(--vscode-panel-border, #d1d9e0); padding: .3rem .6rem; text-align: left; vertical-align: top; }
table.summary th { font-weight: 600; }
.swatch { margin-right: .4rem; vertical-align: -1px; }
.notes { font-size: .85rem; color: var(--vscode-descriptionForeground, #59636e); }
.charts, .side-by-side { display: flex; flex-wrap: wrap; gap: 1rem; }
.side-by-side > .run { flex: 1 1 420px; }
.legend { display: flex; gap: 1.2rem; flex-wrap: wrap; font-size: .85rem; margin-bottom: .5rem; }
.legend svg { vertical-align: middle; margin-right: .3rem; }
svg text { fill: currentColor; font-size: 11px; }
svg .chart-title { font-size: 12.5px; font-weight: 600; }
svg .axis-label { font-size: 10.5px; opacity: .75; }
svg .grid { stroke: currentColor; opacity: .12; }
svg .marker { stroke: currentColor; opacity: .45; stroke-dasharray: 3 3; }
svg .marker-label { font-size: 10px; opacity: .7; }
svg text.cell { fill: #1f2328; font-size: 10.5px; } svg text.cell.on-dark { fill: #fff; } svg text.cell.small { font-size: 9px; }
`;
