// Serializations of a result the user can save: the full JSON, and a CSV with one row per
// (layer, concept) plus one row per (token, concept) at each layer the engine scored tokens for.
import type { ExplainResult, FileRow } from '../../common/protocol';
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

/** Explain File's table, one row per prompt in file order (the full prompt text is in the file itself). */
export function fileTableToCsv(rows: readonly FileRow[]): string {
  const out: (string | number)[][] = [['line', 'prompt', 'concept', 'confidence', 'margin', 'safety', 'low_confidence', 'flagged']];
  for (const r of [...rows].sort((a, b) => a.index - b.index)) {
    out.push([r.line, r.text, r.concept, r.confidence, r.margin, r.safe === null ? 'unknown' : r.safe ? 'safe' : 'unsafe', r.lowConfidence ? 'yes' : '', r.risk ? 'yes' : '']);
  }
  return csvRows(out);
}

export function resultToJson(r: ExplainResult): string {
  return JSON.stringify(r, null, 2);
}
