// The report is parsed as a browser would and checked for its content, not just rendered.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Window } from 'happy-dom';
import { afterAll, describe, expect, it } from 'vitest';
import type { EvaluateReport } from '../../common/protocol';
import { evaluate } from '../../engine/src/calibration/evaluate';
import { renderEvaluationHtml } from '../../engine/src/report/htmlReport';
import { conceptCsv, tempDir, writeFixture } from './fixtures';
import { LAYERS, SyntheticModel, syntheticFacts } from './syntheticModel';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function reports(): Promise<[EvaluateReport, EvaluateReport]> {
  const dir = tempDir();
  dirs.push(dir);
  const concepts = ['algebra', 'geometry', '<b>law</b> & "order"'];
  const csv = writeFixture(dir, 'r.csv', conceptCsv(concepts, 12));
  const params = { path: csv, textColumns: ['prompt'], labelColumn: 'value', safeConcepts: ['algebra'] };
  const seer = await evaluate(new SyntheticModel(0.5), syntheticFacts(dir), params, { kind: 'split' });
  const baseline = await evaluate(new SyntheticModel(4), { ...syntheticFacts(dir), name: 'baseline' }, params, { kind: 'split' });
  return [seer, baseline];
}

function parse(html: string) {
  return new new Window().DOMParser().parseFromString(html, 'text/html');
}

describe('renderEvaluationHtml', () => {
  it('compares two runs in the same charts and shows each run’s matrices side by side', async () => {
    const [seer, baseline] = await reports();
    const doc = parse(renderEvaluationHtml([seer, baseline]));
    const headers = [...doc.querySelectorAll('table.summary tr:first-child th')].map((th) => th.textContent?.trim());
    expect(headers.slice(1)).toEqual([seer.label, baseline.label]);
    const charts = [...doc.querySelectorAll('svg.chart')];
    const titles = charts.map((c) => c.getAttribute('aria-label'));
    const accuracyTitle = 'Accuracy: cosine (solid) / whitened cosine (dashed)';
    expect(titles).toEqual(expect.arrayContaining([accuracyTitle, 'Macro-F1', 'Gap: same − different concept cosine', 'Silhouette (cosine distance)', 'Safe / unsafe accuracy']));
    const accuracyChart = charts[titles.indexOf(accuracyTitle)];
    // Per run: the plain read-out (solid) and the whitened one of the same states (dashed).
    const lines = [...accuracyChart.querySelectorAll('path.line')];
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.getAttribute('stroke-dasharray'))).toEqual([null, '5 3', null, '5 3']);
    expect(accuracyChart.querySelectorAll('circle')).toHaveLength(4 * (LAYERS + 1));
    const whitened = seer.whitened as Exclude<EvaluateReport['whitened'], undefined | { skipped: string }>;
    const whitenedTip = `${seer.label} whitened · layer ${LAYERS}: ${whitened.perLayer[LAYERS].accuracy.toFixed(3)}`;
    expect([...accuracyChart.querySelectorAll('title')].map((t) => t.textContent)).toContain(whitenedTip);
    // Every point carries its value as a tooltip, formatted from the report.
    const tip = `${seer.label} · layer ${LAYERS}: ${seer.perLayer[LAYERS].accuracy.toFixed(3)}`;
    expect([...accuracyChart.querySelectorAll('title')].map((t) => t.textContent)).toContain(tip);
    // Chance and the TF-IDF baseline as labelled reference lines (both runs share the data: drawn once).
    const references = [...accuracyChart.querySelectorAll('g.reference text')].map((t) => t.textContent);
    expect(references).toEqual([`chance ${(100 / 3).toFixed(1)}%`, `TF-IDF ${(100 * seer.baselines!.tfidf.accuracy).toFixed(1)}%`]);
    const summary = doc.querySelector('table.summary')!.textContent!;
    expect(summary).toContain('TF-IDF baseline (same split)');
    expect(summary).toContain(`Whitened cosine, same states (best layer)${whitened.bestLayer}: accuracy`);
    expect(summary).toContain(`${seer.reliability!.ece.toFixed(3)} over ${seer.reliability!.rows} rows`);
    // One reliability table per run: 10 bins whose counts add up to the classified rows.
    const tables = [...doc.querySelectorAll('table.reliability')];
    expect(tables).toHaveLength(2);
    const counts = [...tables[0].querySelectorAll('tr')].slice(1).map((tr) => Number(tr.children[1].textContent));
    expect(counts).toEqual(seer.reliability!.bins.map((b) => b.count));
    expect(counts.reduce((a, b) => a + b)).toBe(seer.support!.reduce((a, b) => a + b));
    const runs = doc.querySelectorAll('section.run');
    expect(runs).toHaveLength(2);
    // Confusion heatmap: one cell per concept pair, counts as in the report.
    const confusion = runs[0].querySelector('svg.heatmap')!;
    expect(confusion.querySelectorAll('rect.cell')).toHaveLength(9);
    const cellTexts = [...confusion.querySelectorAll('text.cell-value')].map((t) => Number(t.textContent));
    expect(cellTexts).toEqual(seer.confusionBest.flat());
    expect(runs[0].textContent).toContain('Prototype similarity at layer');
    expect(runs[0].textContent).toContain('Safe / unsafe');
  });

  it('escapes concept names and stays self-contained (no script, no external resource)', async () => {
    const [seer] = await reports();
    const html = renderEvaluationHtml([seer]);
    expect(html).not.toContain('<b>law</b>');
    expect(html).toContain('&lt;b&gt;law&lt;/b&gt; &amp; &quot;order&quot;');
    const doc = parse(html);
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(doc.querySelectorAll('b')).toHaveLength(0);
    // Nothing a strict webview policy would block: no inline style attributes, one <style> that can carry a nonce.
    expect(doc.querySelectorAll('[style]')).toHaveLength(0);
    const strict = parse(renderEvaluationHtml([seer], { contentSecurityPolicy: "default-src 'none'; style-src 'nonce-abc'", styleNonce: 'abc' }));
    expect(strict.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content')).toBe("default-src 'none'; style-src 'nonce-abc'");
    expect(strict.querySelector('style')?.getAttribute('nonce')).toBe('abc');
  });

  it('renders a report with only the fields of the first EvaluateReport version', async () => {
    const [seer] = await reports();
    const { label: _l, prototypeSource: _p, pooling: _o, split: _s, seed: _e, support: _u, examplesPerSecond: _x, tokensPerSecond: _t, warnings: _w, ...minimal } = seer;
    const doc = parse(renderEvaluationHtml([minimal]));
    expect(doc.querySelector('table.summary th:nth-child(2)')?.textContent?.trim()).toBe(seer.bundle.name);
    expect(doc.querySelectorAll('svg.chart').length).toBeGreaterThan(3);
  });

  it('states rows used, skipped and why', async () => {
    const [seer] = await reports();
    const withSkips = { ...seer, rows: { ...seer.rows, rowsRead: seer.rows.rowsRead + 2, rowsSkipped: 2, skipped: { 'empty text': 2 } } };
    const text = parse(renderEvaluationHtml([withSkips])).body.textContent!;
    expect(text).toContain(`${withSkips.rows.rowsRead} rows read, ${seer.rows.rowsUsed} used, 2 skipped (empty text: 2)`);
    expect(text).toContain('2 row(s) skipped — empty text');
  });

  it('escapes with the one escaper the panel uses too', () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const root = join(__dirname, '../..');
    const escapers = ['common', 'engine/src', 'extension/src', 'webview/src']
      .flatMap((d) => sources(join(root, d)))
      .filter((f) => /(function|const)\s+escape(Xml|Html)\b/.test(readFileSync(f, 'utf8')))
      .map((f) => f.slice(root.length + 1));
    expect(escapers).toEqual(['common/charts/markup.ts']);
  });
});
