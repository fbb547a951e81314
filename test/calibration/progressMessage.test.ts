import { describe, expect, it } from 'vitest';
import { ProgressMeter, progressMessage } from '../../engine/src/calibration/progress';

describe('progressMessage (the calibrate/evaluate progress toast)', () => {
  it('says "starting…" until a row is done, never "0.0 rows/s, ETA --:--"', () => {
    expect(progressMessage('calibrating', 0, 100, 0)).toBe('calibrating starting…');
    expect(progressMessage('calibrating', 0, 100, 12)).toBe('calibrating starting…');
    expect(progressMessage('evaluating', 5, 100, 0)).toBe('evaluating starting…');
  });

  it('gives the rate and the time left once rows are done', () => {
    expect(progressMessage('calibrating', 25, 100, 10)).toBe('calibrating 2.5 rows/s, ETA 0:30');
    expect(progressMessage('calibrating', 100, 7300, 50)).toBe('calibrating 2.0 rows/s, ETA 60:00');
    expect(progressMessage('calibrating', 100, 100, 4)).toBe('calibrating 25.0 rows/s, ETA 0:00');
  });

  it('is what the meter reports at the first update', () => {
    const seen: Array<[number, number, string | undefined]> = [];
    new ProgressMeter(40, (done, total, message) => seen.push([done, total, message])).update(0, 'calibrating');
    expect(seen).toEqual([[0, 40, 'calibrating starting…']]);
  });
});
