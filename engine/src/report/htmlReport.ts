// The evaluation report as one self-contained HTML page (inline CSS and SVG, no script, no external
// resource): the CLI writes it with --html and the VS Code extension shows the same string in a panel.
// Several reports (e.g. SEER vs its baseline twin) are drawn in the same charts and side by side.
import { cosineScale, rowShareScale, seriesColor } from '../../../common/charts/colors';
import { type HeatmapSpec, heatmapMarkup } from '../../../common/charts/heatmap';
import { type LineChartSpec, type Series, lineChartMarkup } from '../../../common/charts/lineChart';
import { escapeXml } from '../../../common/charts/markup';
import type { EvaluateReport, HeatmapScheme } from '../../../common/protocol';
import { type FullEvaluateReport, completeReport } from '../calibration/fullReport';
import { describeRows } from '../calibration/rowAccounting';
import { conceptMapSection } from './conceptMapSection';

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));

export interface HtmlOptions {
  /** A Content-Security-Policy for the page (a VS Code webview sets one), added as a <meta> tag. */
  contentSecurityPolicy?: string;
  /** Nonce of the one <style> element, for a policy like style-src 'nonce-…'. */
  styleNonce?: string;
  /** Colour scale of the cosine heatmaps, as the panel's `seer.heatmapScheme` setting (default diverging). */
  heatmapScheme?: HeatmapScheme;
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
<p class="hint">Nearest-prototype classification of the held-out rows, and the paper's measures: representations of one concept should aggregate (high same-concept cosine) and different concepts disentangle (low different-concept cosine). The dashed line marks the target layer; on the accuracy chart, dotted lines mark chance (1 / concepts) and the TF-IDF bag-of-words baseline on the same rows: representations worth reading beat both. There, a dashed series reads the same states with whitened cosine (fitted on the prototype part): when it beats TF-IDF and plain cosine does not, the information is in the states and the plain read-out loses it.</p>
${layerCharts(reports)}
${reliabilitySection(reports)}
<h2>Confusion and concept similarity</h2>
<p class="hint">Rows: true concept; columns: predicted concept (colour: share of the row). Prototype similarity: cosine between concept prototypes at the target layer, coloured as in the panel's heatmaps.</p>
<div class="side-by-side">${reports.map((r) => matrices(r, options.heatmapScheme ?? 'diverging')).join('')}</div>
${conceptMapSection(reports)}
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
    ['TF-IDF baseline (same split)', (r) => (r.baselines ? `accuracy ${pct(r.baselines.tfidf.accuracy)}, macro-F1 ${num(r.baselines.tfidf.macroF1)} (${r.baselines.tfidf.rowsClassified} rows)` : '–')],
    ['Whitened cosine, same states (best layer)', (r) => whitenedCell(r)],
    ['Chance: uniform / majority class', (r) => (r.baselines ? `${pct(r.baselines.uniformChance)} / ${pct(r.baselines.majority.accuracy)} (${escapeXml(r.baselines.majority.concept)})` : '–')],
    ['Calibration error (ECE, target)', (r) => (r.reliability ? `${num(r.reliability.ece)} over ${r.reliability.rows} rows (logit scale ${r.reliability.logitScale})` : '–')],
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
  const chart = (title: string, rest: Pick<LineChartSpec, 'series' | 'yDomain' | 'includeZero' | 'references'>) =>
    lineChartMarkup({ label: title, title, xs, marker, width: 420, height: 240, nativeTips: true, ...rest });
  const metric = (title: string, pick: (l: EvaluateReport['perLayer'][number]) => number | undefined, yDomain?: [number, number], references?: LineChartSpec['references']) =>
    chart(title, {
      yDomain,
      references,
      series: reports.map((r, i): Series => ({ name: r.label, color: seriesColor(i), values: r.perLayer.map((l) => pick(l) ?? NaN) })),
    });
  const twoView = chart('Two-view cosine: same (solid) / different (dashed)', {
    includeZero: false,
    series: reports.flatMap((r, i): Series[] => [
      { name: `${r.label} same`, color: seriesColor(i), values: r.perLayer.map((l) => l.samePairCos) },
      { name: `${r.label} different`, color: seriesColor(i), dashed: true, values: r.perLayer.map((l) => l.differentPairCos) },
    ]),
  });
  const accuracyChart = chart('Accuracy: cosine (solid) / whitened cosine (dashed)', {
    yDomain: [0, 1],
    references: accuracyReferences(reports),
    series: reports.flatMap((r, i): Series[] => [
      { name: r.label, color: seriesColor(i), values: r.perLayer.map((l) => l.accuracy) },
      ...(r.whitened && !('skipped' in r.whitened) ? [whitenedSeries(r, i, xs)] : []),
    ]),
  });
  const charts = [
    accuracyChart,
    metric('Macro-F1', (l) => l.macroF1, [0, 1]),
    metric('Gap: same − different concept cosine', (l) => l.gap),
    metric('Silhouette (cosine distance)', (l) => l.silhouette),
    twoView,
  ];
  if (reports.some((r) => r.safeConcepts.length)) charts.push(metric('Safe / unsafe accuracy', (l) => l.binaryAccuracy, [0, 1]));
  return legend(reports.map((r, i) => ({ name: r.label, color: seriesColor(i) }))) + `<div class="charts">${charts.join('\n')}</div>`;
}

function whitenedCell(r: FullEvaluateReport): string {
  const w = r.whitened;
  if (!w) return '–';
  if ('skipped' in w) return `skipped: ${escapeXml(w.skipped)}`;
  const best = w.perLayer.find((x) => x.layer === w.bestLayer)!;
  return `${w.bestLayer}: accuracy ${pct(best.accuracy)}, macro-F1 ${num(best.macroF1)} (fitted on ${w.fittedRows} prototype rows)`;
}

/** The whitened read-out's accuracy per layer, dashed; a layer it skipped (memory) is a gap. */
function whitenedSeries(r: FullEvaluateReport, i: number, xs: number[]): Series {
  const w = r.whitened as Exclude<FullEvaluateReport['whitened'], undefined | { skipped: string }>;
  const at = new Map(w.perLayer.map((x) => [x.layer, x.accuracy]));
  return { name: `${r.label} whitened`, color: seriesColor(i), dashed: true, values: xs.map((x) => at.get(x) ?? NaN) };
}

/** Chance and the TF-IDF baseline, once per distinct value (runs on the same data share them). */
function accuracyReferences(reports: FullEvaluateReport[]): LineChartSpec['references'] {
  const refs = new Map<string, { y: number; label: string }>();
  const named = (label: string, y: number) => refs.set(`${label}|${y}`, { y, label });
  for (const r of reports) {
    if (!r.baselines) continue;
    named(`chance ${pct(r.baselines.uniformChance)}`, r.baselines.uniformChance);
    named(`TF-IDF ${pct(r.baselines.tfidf.accuracy)}`, r.baselines.tfidf.accuracy);
  }
  return [...refs.values()];
}

/** The reliability table: does a headline probability of p mean right p of the time? */
function reliabilitySection(reports: FullEvaluateReport[]): string {
  const withTables = reports.filter((r) => r.reliability);
  if (!withTables.length) return '';
  const table = (r: FullEvaluateReport) => {
    const rel = r.reliability!;
    const rows = rel.bins
      .map((b) => `<tr><td>${b.from.toFixed(1)}–${b.to.toFixed(1)}</td><td>${b.count}</td><td>${pct(b.meanConfidence)}</td><td>${pct(b.accuracy)}</td></tr>`)
      .join('');
    return `<section class="reliability-run"><h3>${escapeXml(r.label)}: ECE ${num(rel.ece)} at layer ${rel.layer}</h3>` +
      `<table class="reliability"><tr><th>headline probability</th><th>rows</th><th>mean probability</th><th>accuracy</th></tr>${rows}</table></section>`;
  };
  return `<h2>Calibrated confidence</h2>
<p class="hint">The headline probability is softmax(logit scale · cosine) at the target layer, as the panel shows it. Each held-out row falls in one of 10 equal-width bins of it; in a calibrated model each bin's accuracy equals its mean probability. The expected calibration error (ECE) is the row-weighted mean gap between the two.</p>
<div class="side-by-side">${withTables.map(table).join('')}</div>`;
}

function matrices(r: FullEvaluateReport, scheme: HeatmapScheme): string {
  const matrix = (title: string, labels: string[], values: number[][], cells: Pick<HeatmapSpec, 'color' | 'legend' | 'tip' | 'formatValue' | 'rowAxis' | 'colAxis'>) =>
    heatmapMarkup({ label: title, title, rows: labels, cols: labels, values, width: 0, rowHeight: 30, showValues: true, nativeTips: true, ...cells });
  const counts = (title: string, labels: string[], values: number[][] | undefined) => {
    if (!values) return '';
    const totals = values.map((row) => row.reduce((a, b) => a + b, 0));
    const tip = (t: number, p: number, n: number) => `${labels[t]} → ${labels[p]}: ${n}${totals[t] ? ` (${((100 * n) / totals[t]).toFixed(1)}% of row)` : ''}`;
    return matrix(title, labels, values, { ...rowShareScale(values), tip, formatValue: String, rowAxis: 'true', colAxis: 'predicted' });
  };
  const similarity = r.prototypeSimilarityTarget;
  const parts = [
    counts(`Confusion at best layer ${r.bestLayer}`, r.concepts, r.confusionBest),
    r.targetLayer !== r.bestLayer ? counts(`Confusion at layer ${r.targetLayer}`, r.concepts, r.confusionTarget) : '',
    matrix(`Prototype similarity at layer ${r.targetLayer}`, r.concepts, similarity, {
      ...cosineScale(scheme),
      tip: (a, b, v) => `${r.concepts[a]} · ${r.concepts[b]}: cosine ${v.toFixed(3)}`,
    }),
    counts(`Safe / unsafe at layer ${r.bestLayer}`, ['safe', 'unsafe'], r.binaryConfusionBest),
    r.targetLayer !== r.bestLayer ? counts(`Safe / unsafe at layer ${r.targetLayer}`, ['safe', 'unsafe'], r.binaryConfusionTarget) : '',
  ];
  return `<section class="run"><h3>${escapeXml(r.label)}</h3>${parts.filter(Boolean).join('\n')}</section>`;
}

function legend(series: Array<{ name: string; color: string }>): string {
  return `<div class="legend">${series
    .map((s) => `<span><svg width="26" height="10"><line x1="0" x2="26" y1="5" y2="5" stroke="${s.color}" stroke-width="2"/></svg>${escapeXml(s.name)}</span>`)
    .join('')}</div>`;
}

// VS Code webviews define the --vscode-* variables; a browser uses the fallbacks.
const STYLE = `
body { font-family: var(--vscode-font-family, system-ui, sans-serif); color: var(--vscode-foreground, #1f2328);
  background: var(--vscode-editor-background, #fff); margin: 1.5rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; } h2 { font-size: 1.15rem; margin-top: 1.8rem; } h3 { font-size: 1rem; }
.sub, .hint { color: var(--vscode-descriptionForeground, #59636e); } .hint { font-size: .85rem; max-width: 60rem; }
code { font-family: var(--vscode-editor-font-family, ui-monospace, monospace); font-size: .85em; }
table.summary, table.reliability { border-collapse: collapse; font-size: .9rem; }
table.summary th, table.summary td, table.reliability th, table.reliability td { border: 1px solid var(--vscode-panel-border, #d1d9e0); padding: .3rem .6rem; text-align: left; vertical-align: top; }
table.summary th, table.reliability th { font-weight: 600; }
table.summary td { overflow-wrap: anywhere; }
.swatch { margin-right: .4rem; vertical-align: -1px; }
.notes { font-size: .85rem; color: var(--vscode-descriptionForeground, #59636e); }
/* Line charts share the width in equal columns (drawn at 420 px, scaled up to 1.4x); nothing scrolls sideways. */
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 380px), 1fr)); gap: 1rem; }
.charts > svg.chart { width: 100%; max-width: 588px; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 1rem; }
.side-by-side > .run { flex: 1 1 420px; } .side-by-side > .reliability-run { flex: 0 1 auto; }
.legend { display: flex; gap: 1.2rem; flex-wrap: wrap; font-size: .85rem; margin-bottom: .5rem; }
.legend svg { vertical-align: middle; margin-right: .3rem; }
svg.chart { max-width: 100%; height: auto; }
table.reliability td { text-align: right; font-variant-numeric: tabular-nums; }
svg text { fill: currentColor; font-size: 11px; }
svg .reference-label { font-size: 10px; opacity: .85; }
svg .chart-title { font-size: 12.5px; font-weight: 600; }
svg .axis-label { font-size: 10.5px; opacity: .75; }
svg .axis path, svg .axis line { stroke-opacity: .45; }
svg .grid line { stroke-opacity: .12; }
svg .marker { stroke-opacity: .45; stroke-dasharray: 3 3; }
svg .marker-label { font-size: 10px; opacity: .7; }
svg .dot { stroke: var(--vscode-editor-background, #fff); stroke-width: 1; }
svg text.cell-value { font-size: 10px; pointer-events: none; } svg text.on-dark { fill: #fff; } svg text.on-light { fill: #1f2328; }
svg .color-bar-label { font-size: 10.5px; opacity: .8; }
svg rect.cell.muted { fill-opacity: .25; } svg text.cell-value.muted { fill: currentColor; }
svg text.row-label { font-family: var(--vscode-editor-font-family, ui-monospace, monospace); }
`;
