// Serializations of a result the user can save: the full JSON, and a CSV with one row per
// (layer, concept) plus one row per (token, concept) at each layer the engine scored tokens for.
import type { ExplainResult } from '../../common/protocol';

/** What a spreadsheet reads as the start of a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (a prompt `=HYPERLINK(…)`, a token `-1+1`)
 * gets a leading `'`, which shows it as text; numbers are written as they are, so -0.12 stays a number.
 */
export function csvCell(v: string | number): string {
  const s = typeof v === 'number' ? String(v) : FORMULA_START.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

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
  return rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

export function resultToJson(r: ExplainResult): string {
  return JSON.stringify(r, null, 2);
}
