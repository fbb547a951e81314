// The concept map card's content: the scatter from common/charts/conceptMap.ts, how it was made, and why
// there is none when the bank has no map (calibrated before maps existed, or its map file is damaged).
import type { ExplainResult } from '../../../common/protocol';
import { conceptMapMarkup } from '../../../common/charts/conceptMap';
import { mountSvg } from './mount';

/** Draws the map of `result` into `host`; returns its SVG, or undefined when there is only a message. */
export function renderConceptMap(host: HTMLElement, result: ExplainResult, opts: { width: number; hidden: ReadonlySet<string>; label: string }): SVGSVGElement | undefined {
  const doc = host.ownerDocument;
  const say = (text: string, cls = 'note'): void => {
    const p = doc.createElement('p');
    p.className = cls;
    p.textContent = text;
    host.append(p);
  };
  const map = result.conceptMap;
  if (!map || map.status !== 'ok') {
    say(map?.message ?? 'No concept map in this result (it was made by an older version): explain the prompt again.');
    return undefined;
  }
  const svg = mountSvg(host, conceptMapMarkup({ chartId: 'concept-map', label: opts.label, map, concepts: result.concepts, hidden: opts.hidden, width: opts.width }));
  say(map.note ?? (map.prompt
    ? `${map.method}. The prompt's nearest calibration example has cosine ${map.prompt.nearestCosine.toFixed(3)}.`
    : `${map.method}.`));
  return svg;
}
