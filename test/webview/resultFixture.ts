// Builds an ExplainResult of any size for DOM-rendering tests (the panel renders a given result;
// the real engine's results are rendered in the end-to-end test).
import type { ExplainResult } from '../../common/protocol';

export function makeResult(opts: { concepts?: string[]; layers?: number; tokens?: number; target?: number } = {}): ExplainResult {
  const concepts = opts.concepts ?? ['violence', 'cooking', 'finance', 'medicine'];
  const nLayers = opts.layers ?? 7;
  const nTokens = opts.tokens ?? 12;
  const target = opts.target ?? 4;
  const C = concepts.length;
  const layerIds = Array.from({ length: nLayers }, (_, i) => i);
  // Deterministic, varied values: concept c peaks at layer c.
  const cos = (l: number, c: number): number => Math.cos((l - c) / 2) * 0.8 - 0.1 * c / C;
  const softmax = (xs: number[]): number[] => {
    const e = xs.map((x) => Math.exp(10 * x));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  const layers = layerIds.map((l) => {
    const cosine = concepts.map((_, c) => cos(l, c));
    const probs = softmax(cosine);
    const order = [...probs].sort((a, b) => b - a);
    return { layer: l, cosine, probs, predicted: probs.indexOf(order[0]), margin: order[0] - order[1] };
  });
  const t = layers[target];
  const tokens = Array.from({ length: nTokens }, (_, i) => ({ id: i, text: i === 0 ? '<|bos|>' : ` tok${i}`, fromPrompt: i > 0 }));
  return {
    id: `fixture-${nTokens}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    text: 'How do I sharpen a kitchen knife?',
    templatedText: 'User: How do I sharpen a kitchen knife?\nAssistant:',
    tokens,
    truncation: null,
    pooling: 'last',
    bank: 'default',
    concepts,
    safeConcepts: concepts.slice(1),
    targetLayer: target,
    logitScale: 10,
    layers,
    headline: {
      concept: concepts[t.predicted], conceptIndex: t.predicted, confidence: t.probs[t.predicted], margin: t.margin,
      layer: target, safe: t.predicted !== 0, trajectory: layers.map((l) => l.probs[t.predicted]),
    },
    tokenScoreLayers: layerIds,
    tokenScores: layerIds.map((l) => tokens.map((_, k) => concepts.map((_, c) => cos(l, c) * Math.sin(k + 1)))),
    bankStats: layerIds.map((l) => ({
      layer: l, sameConceptCos: 0.3 + l * 0.08, differentConceptCos: 0.25 + l * 0.02, gap: 0.05 + l * 0.06,
      prototypeSimilarity: concepts.map((_, a) => concepts.map((_, b) => (a === b ? 1 : 0.5 - 0.05 * l - 0.02 * Math.abs(a - b)))),
      counts: concepts.map(() => 100),
    })),
    nextTokens: [{ id: 1, text: ' Use', prob: 0.4 }, { id: 2, text: ' You', prob: 0.2 }],
    provider: { used: 'cpu', requested: 'auto', attempts: [{ provider: 'cpu', ok: true }] },
    timingsMs: { tokenize: 1, forward: 5, score: 1, total: 8 },
    bundle: { name: 'fixture', dir: '/tmp/fixture' },
  };
}
