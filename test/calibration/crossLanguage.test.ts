// One definition of bank statistics (docs/bundle-format.md "Bank statistics"): the engine's BankBuilder and the
// trainer's calibrate.py must give the same numbers, seeded held-out split included, on the same representations.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BankBuilder } from '../../engine/src/calibration/bankBuilder';
import { mulberry32 } from '../../engine/src/calibration/seededSampling';
import { unit } from '../../engine/src/vectors';

const PYTHON = '/usr/bin/python3';
const ROOT = path.resolve(__dirname, '../..');
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const skipReason = probe.status === 0 ? '' : `${PYTHON} cannot import torch (apt install python3-torch)`;

/** Three concepts (names with accents and an astral character: the split's seed hashes UTF-16 units), interleaved rows. */
function fixture() {
  const concepts = ['cooking', 'café naïve', 'emoji 😀'];
  const sizes = [30, 12, 7];
  const layers = 3;
  const hidden = 16;
  const random = mulberry32(42);
  const centre = concepts.map(() => Array.from({ length: layers }, () => Array.from({ length: hidden }, () => random() * 2 - 1)));
  const labels: number[] = [];
  const left = [...sizes];
  while (left.some((n) => n > 0)) {
    for (let c = 0; c < concepts.length; c++) if (left[c]-- > 0) labels.push(c);
  }
  const reps = labels.map((c) => centre[c].map((v) => v.map((x) => x + (random() - 0.5) * 1.5)));
  return { concepts, sizes, labels, reps, heldOutFraction: 0.2, seed: 5, layers, hidden };
}

describe.skipIf(skipReason !== '')(`bank statistics: engine = trainer${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seer-stats-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same per-layer statistics to 1e-6', () => {
    const f = fixture();
    const file = path.join(dir, 'reps.json');
    writeFileSync(file, JSON.stringify({ concepts: f.concepts, labels: f.labels, reps: f.reps, heldOutFraction: f.heldOutFraction, seed: f.seed }));
    const run = spawnSync(PYTHON, ['-m', 'seer_trainer.calibrate', file], {
      cwd: path.join(ROOT, 'trainer'),
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer'), OMP_NUM_THREADS: '1' },
    });
    expect(run.stderr).toBe('');
    const python = JSON.parse(run.stdout) as Record<string, number | number[] | number[][]>[];

    const builder = new BankBuilder(f.concepts, f.sizes, f.layers, f.hidden, { fraction: f.heldOutFraction, seed: f.seed });
    f.labels.forEach((c, i) => builder.add(c, f.reps[i].map((v) => unit(v))));
    const engine = builder.layers().map((l) => l.stats);

    expect(python).toHaveLength(f.layers);
    engine.forEach((stats, l) => {
      const py = python[l];
      // Every row of a concept but the last is held out at most: the split really holds rows out here.
      expect(stats.heldOutAccuracy).toBeGreaterThan(0);
      expect(py.counts).toEqual(stats.counts);
      for (const key of ['sameConceptCos', 'differentConceptCos', 'gap', 'silhouette', 'heldOutAccuracy', 'heldOutMaxCosineP05'] as const) {
        expect(Math.abs((py[key] as number) - (stats[key] as number)), `${key} at layer ${l}`).toBeLessThan(1e-6);
      }
      const sim = py.prototypeSimilarity as number[][];
      stats.prototypeSimilarity.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(sim[i][j] - v)).toBeLessThan(1e-6)));
    });
  });
});
