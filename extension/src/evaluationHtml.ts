// The evaluation report for a webview: the same self-contained HTML as `seer eval --html`, under a CSP
// that allows nothing but its one nonce'd <style> element and data: images (the page has no script).
import type { EvaluateReport, HeatmapScheme } from '../../common/protocol';
import { renderEvaluationHtml } from '../../engine/src/api';

export function evaluationReportHtml(reports: EvaluateReport[], nonce: string, heatmapScheme?: HeatmapScheme): string {
  const csp = `default-src 'none'; img-src data:; style-src 'nonce-${nonce}'`;
  return renderEvaluationHtml(reports, { contentSecurityPolicy: csp, styleNonce: nonce, heatmapScheme });
}
