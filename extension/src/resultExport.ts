// Serializations of a result the user can save: the full JSON, and a CSV with one row per
// (layer, concept) plus one row per (token, concept) at each layer the engine scored tokens for.
import type { ExplainResult } from '../../common/protocol';
import { csvCell, csvRows } from '../../engine/src/api';

export { csvCell };

export function resultToCsv(r: ExplainResult): string {
  const rows: (string | number)[][] = [['kind', 'layer', 'token_index', 'token', 'concept', 'cosine', 'probability']];
  for (const l of r.layers) {
    r.concepts.forEach((c, i) => rows.push(['layer', l.layer, '', '', c, l.cosine[i], l.probs[i]]));
  }
  r.tokenScoreLayers.forEach((layer, k) => {
    r.tokenScores[k].forEach((scores, t) => {
      r.concepts.forEach((c, i) => rows.push(['token', layer, t, r.tokens[t]?.text ?? '', c, scores[i], '']));
    });
  });
  return csvRows(rows);
}

export function resultToJson(r: ExplainResult): string {
  return JSON.stringify(r, null, 2);
}
