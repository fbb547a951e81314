// The HTML evaluation report's concept-map section: each run's bank map (common/charts/conceptMap.ts) side
// by side, so `seer eval --compare-bundle models/baseline --html` shows SEER and its baseline twin as the
// paper's verification figure. Self-contained markup (native tooltips, no script); '' when no run has a map.
import type { EvaluateReport } from '../../../common/protocol';
import { conceptMapMarkup } from '../../../common/charts/conceptMap';
import { escapeXml } from '../../../common/charts/markup';

const MAP_WIDTH = 460;

export function conceptMapSection(reports: ReadonlyArray<EvaluateReport & { label?: string }>): string {
  if (!reports.some((r) => r.conceptMap)) return '';
  const runs = reports.map((r, i) => {
    const name = r.label ?? `${r.bundle.name} (${i + 1})`;
    const map = r.conceptMap;
    if (!map) return `<section class="run"><h3>${escapeXml(name)}</h3><p class="hint">No bank map for this run.</p></section>`;
    if (map.status !== 'ok') return `<section class="run"><h3>${escapeXml(name)}</h3><p class="hint">${escapeXml(map.message)}</p></section>`;
    const title = `bank “${map.bank}”, layer ${map.layer}`;
    const chart = conceptMapMarkup({ label: `Concept map of ${name}: ${title}`, title, map, concepts: map.concepts ?? r.concepts, width: MAP_WIDTH, nativeTips: true });
    return `<section class="run"><h3>${escapeXml(name)}</h3>${chart}<p class="hint">${escapeXml(map.method)}.</p></section>`;
  });
  return `<h2>Concept map</h2>
<p class="hint">Each bank's calibration examples at its layer, projected to 2-D with UMAP and coloured by concept (hover a point for its text): concepts the model keeps apart form separate clusters. The map is computed when the bank is calibrated and stored beside it (<code>&lt;bank&gt;.map.json</code>).</p>
<div class="side-by-side">${runs.join('')}</div>`;
}
