// softmax(logitScale · cosine) only compares concepts with each other: a prompt far from all of them still gets
// a confident-looking headline. The bank's own statistics say what "far" means: a best cosine below the
// heldOutMaxCosineP05 of the target layer (docs/bundle-format.md "Bank statistics"). Old banks without it never flag.
import type { LayerScores, LayerStats, LowConfidence } from '../../common/protocol';

export const LOW_CONFIDENCE_REASON = 'far from every concept seen in calibration';

export function lowConfidence(target: LayerScores, stats: LayerStats): LowConfidence | undefined {
  const threshold = stats.heldOutMaxCosineP05;
  if (threshold === undefined || target.cosine.length === 0) return undefined;
  const maxCosine = Math.max(...target.cosine);
  if (!(maxCosine < threshold)) return undefined;
  return {
    reason: `${LOW_CONFIDENCE_REASON}: best cosine ${maxCosine.toFixed(3)} at layer ${target.layer} is below ${threshold.toFixed(3)}, which 95% of the bank's held-out rows reach`,
    maxCosine,
    threshold,
  };
}
