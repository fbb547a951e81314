// Does the headline probability mean what it says? Expected calibration error over equal-width confidence
// bins (Guo et al. 2017): ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|, and the reliability table.
import type { ReliabilityBin } from '../../../common/protocol';

export const RELIABILITY_BINS = 10;

export class ReliabilityTable {
  private readonly counts: number[];
  private readonly confidenceSums: number[];
  private readonly correct: number[];

  constructor(private readonly binCount = RELIABILITY_BINS) {
    this.counts = new Array<number>(binCount).fill(0);
    this.confidenceSums = new Array<number>(binCount).fill(0);
    this.correct = new Array<number>(binCount).fill(0);
  }

  /** One prediction: its headline probability (0…1) and whether it was right. */
  add(confidence: number, right: boolean): void {
    // Bin b holds [b/B, (b+1)/B); a confidence of exactly 1 belongs to the last bin.
    const b = Math.min(this.binCount - 1, Math.max(0, Math.floor(confidence * this.binCount)));
    this.counts[b]++;
    this.confidenceSums[b] += confidence;
    if (right) this.correct[b]++;
  }

  get rows(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** Every bin, empty ones included (count 0, NaN means), so tables line up across runs. */
  bins(): ReliabilityBin[] {
    return this.counts.map((n, b) => ({
      from: b / this.binCount,
      to: (b + 1) / this.binCount,
      count: n,
      meanConfidence: n ? this.confidenceSums[b] / n : NaN,
      accuracy: n ? this.correct[b] / n : NaN,
    }));
  }

  /** NaN when nothing was added. */
  expectedCalibrationError(): number {
    const total = this.rows;
    if (!total) return NaN;
    return this.bins().reduce((e, bin) => (bin.count ? e + (bin.count / total) * Math.abs(bin.accuracy - bin.meanConfidence) : e), 0);
  }
}
