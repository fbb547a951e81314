// Expected calibration error and the reliability table, checked against a hand computation.
import { describe, expect, it } from 'vitest';
import { ReliabilityTable } from '../../engine/src/calibration/reliability';

describe('ReliabilityTable', () => {
  it('bins headline probabilities in tenths and weights each bin’s gap by its rows', () => {
    const t = new ReliabilityTable();
    t.add(0.95, true);
    t.add(0.95, false);
    t.add(1, true); // exactly 1 belongs to the last bin
    t.add(0.15, false);
    const bins = t.bins();
    expect(bins).toHaveLength(10);
    expect(bins[9]).toMatchObject({ from: 0.9, to: 1, count: 3 });
    expect(bins[9].meanConfidence).toBeCloseTo(2.9 / 3, 12);
    expect(bins[9].accuracy).toBeCloseTo(2 / 3, 12);
    expect(bins[1]).toMatchObject({ count: 1, accuracy: 0 });
    expect(bins[0].count).toBe(0);
    expect(bins[0].accuracy).toBeNaN();
    // (3/4)·|2/3 − 2.9/3| + (1/4)·|0 − 0.15| = 0.225 + 0.0375
    expect(t.expectedCalibrationError()).toBeCloseTo(0.2625, 12);
    expect(t.rows).toBe(4);
  });

  it('is 0 when every bin’s accuracy equals its mean probability, NaN when empty', () => {
    const t = new ReliabilityTable();
    for (let i = 0; i < 4; i++) t.add(0.75, i < 3);
    t.add(0.5, true);
    t.add(0.5, false);
    expect(t.expectedCalibrationError()).toBeCloseTo(0, 12);
    expect(new ReliabilityTable().expectedCalibrationError()).toBeNaN();
  });
});
