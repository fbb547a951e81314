// The readable terminal report of an ExplainResult (and the one-line form used for batches).
import type { ExplainResult, LoadResult, ProviderReport } from '../../../common/protocol';
import { torchRuntimeDetail } from '../../../common/providerText';
import { percent, sparkline, type Style } from './terminalStyle';

const TOP_CONCEPTS = 3;

export function renderReport(r: ExplainResult, s: Style): string {
  const h = r.headline;
  const out: string[] = [];
  const verdict = h.safe === null ? s.dim('safety unknown') : h.safe ? s.green('safe') : s.red(s.bold('UNSAFE'));
  out.push(s.bold(`${s.cyan(h.concept)}  ${percent(h.confidence)}`) + `  margin ${h.margin.toFixed(2)}  ${verdict}  ${s.dim(`(layer ${h.layer}, bank ${r.bank}, ${r.pooling}-token representation)`)}`);
  if (h.lowConfidence) out.push(s.yellow(`low confidence: ${h.lowConfidence.reason}`));
  out.push(`prompt: ${JSON.stringify(excerpt(r.text, 100))}  ${s.dim(`${r.tokens.filter((t) => t.fromPrompt).length} prompt + ${r.tokens.filter((t) => !t.fromPrompt).length} template tokens`)}`);
  if (r.truncation) {
    const t = r.truncation;
    const cut = t.originalChars === undefined ? '' : `, tokenized from ${t.keptChars} of its ${t.originalChars} characters`;
    out.push(s.yellow(`truncated: kept ${t.keptTokens} of ${t.originalTokens} prompt tokens${cut} (dropped from the ${t.side})`));
  }
  out.push('');
  out.push(s.dim(`${h.concept} over layers: `) + sparkline(h.trajectory) + s.dim(`  (${r.layers[0]?.layer}…${r.layers[r.layers.length - 1]?.layer})`));
  const tops = r.layers.map((l) =>
    l.probs
      .map((p, i) => ({ p, i }))
      .sort((a, b) => b.p - a.p)
      .slice(0, TOP_CONCEPTS)
      .map(({ p, i }) => `${r.concepts[i]} ${(100 * p).toFixed(0)}%`)
      .join(' · '),
  );
  const width = Math.max('top concepts'.length, ...tops.map((t) => t.length));
  out.push(s.bold(`layer  ${'top concepts'.padEnd(width)}  gap*`));
  r.layers.forEach((l, k) => {
    const gap = r.bankStats[l.layer]?.gap;
    const mark = l.layer === r.targetLayer ? s.cyan('▶') : ' ';
    out.push(`${mark}${String(l.layer).padStart(4)}  ${tops[k].padEnd(width)}  ${gap === undefined ? '' : s.dim(gap.toFixed(2))}`);
  });
  out.push(s.dim('* the bank\'s same-minus-different concept cosine at that layer (how well the layer separates concepts)'));
  const tokenLine = tokenConcepts(r, s);
  if (tokenLine) out.push('', tokenLine);
  if (r.nextTokens.length) {
    out.push('', `next token: ${r.nextTokens.map((t) => `${JSON.stringify(t.text)} ${percent(t.prob)}`).join('  ')}`);
  }
  out.push(s.dim(`provider: ${providerLine(r.provider)}  ·  ${r.timingsMs.total.toFixed(1)} ms (forward ${r.timingsMs.forward.toFixed(1)} ms)`));
  return out.join('\n');
}

/** Each prompt token with the concept it is closest to at the target layer. */
function tokenConcepts(r: ExplainResult, s: Style): string | null {
  const k = r.tokenScoreLayers.indexOf(r.targetLayer);
  if (k < 0) return null;
  const parts = r.tokens.flatMap((t, i) => {
    if (!t.fromPrompt) return [];
    const cos = r.tokenScores[k][i];
    const best = cos.indexOf(Math.max(...cos));
    return [`${JSON.stringify(t.text)}→${s.dim(r.concepts[best])}`];
  });
  return `tokens at layer ${r.targetLayer} (nearest concept): ${parts.join(' ')}`;
}

export function renderBatchLine(r: ExplainResult, s: Style): string {
  const h = r.headline;
  const verdict = h.safe === null ? s.dim('?     ') : h.safe ? s.green('safe  ') : s.red('UNSAFE');
  return `${verdict} ${h.concept.padEnd(16)} ${percent(h.confidence).padStart(6)}  ${JSON.stringify(excerpt(r.text, 70))}${h.lowConfidence ? s.yellow(' (low confidence)') : ''}${r.truncation ? s.yellow(' (truncated)') : ''}`;
}

export function providerLine(p: ProviderReport): string {
  const skipped = p.attempts.filter((a) => !a.ok).map((a) => `${a.provider} skipped: ${a.reason}`);
  const fell = [...(p.fellBackToCpu ? [`fell back to CPU: ${p.fellBackToCpu}`] : []), ...(p.splitBatches ? [p.splitBatches] : [])];
  const warm = p.warmUpMs !== undefined ? [`warm-up pass at load ${p.warmUpMs} ms`] : [];
  const torch = p.torch ? [torchRuntimeDetail(p.torch)] : [];
  return [`${p.used} (requested ${p.requested})`, ...torch, ...(p.reason ? [`chosen because ${p.reason.replace(/^\w+: /, '')}`] : []), ...skipped, ...warm, ...fell].join('; ');
}

export function renderInfo(info: LoadResult, s: Style): string {
  const b = info.bundle;
  const a = b.architecture;
  const out = [
    s.bold(`${b.name}`) + s.dim(`  (bundle format ${b.formatVersion}, ${b.dir})`),
    b.description,
    `model: ${a.type}, ${a.numLayers} layers, hidden ${a.hiddenSize}, ${a.numHeads} heads, MLP ${a.intermediateSize}, vocabulary ${a.vocabSize}, context ${a.maxContext}`,
    `target layer(s): ${b.targetLayers.join(', ')}  ·  representation: ${b.representation} token  ·  logit scale ${b.logitScale}`,
    `prompt template: ${JSON.stringify(b.promptTemplate)}`,
    `concepts: ${b.concepts.map((c) => (b.safeConcepts.includes(c) ? s.green(c) : s.red(c))).join(', ')}  ${s.dim('(green = safe)')}`,
    '',
    s.bold('banks'),
  ];
  for (const bank of info.banks) {
    const t = bank.stats[b.targetLayers[0]];
    const detail = t ? `layer ${t.layer}: same ${t.sameConceptCos.toFixed(2)} vs different ${t.differentConceptCos.toFixed(2)} (gap ${t.gap.toFixed(2)})${t.heldOutAccuracy === undefined ? '' : `, held-out accuracy ${percent(t.heldOutAccuracy)}`}` : '';
    out.push(`  ${bank.name}${bank.name === b.defaultBank ? ' (default)' : ''}: ${bank.concepts.length} concepts, ${bank.pooling} token; ${detail}`);
  }
  out.push('', `provider: ${providerLine(info.provider)}`);
  return out.join('\n');
}

function excerpt(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
