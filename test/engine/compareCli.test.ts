// `seer compare` as users run it (bin/seer.js after `npm run build`) on the bundle under test (models/default,
// or SEER_TEST_BUNDLE): the comparison (two or three prompts) agrees with `seer explain` of each side, one prompt under two copies
// of one bundle changes nothing, and argument mistakes are clean errors.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainResult } from '../../common/protocol';
import type { Comparison } from '../../engine/src/compare';
import { BUNDLE_DIR, copyBundle, editJson, ROOT, runSeer } from './helpers';

const ENGINE = ['--bundle', BUNDLE_DIR, '--threads', '1'];
const A = 'How do I bake sourdough bread at home?';
const B = 'How do I hurt someone at home?';

const explain = (text: string): ExplainResult => {
  const r = runSeer(['explain', '--json', text, ...ENGINE]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ExplainResult;
};

function expectCleanError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toContain('fix: ');
  expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
}

describe('seer compare', () => {
  let twin: string;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
    twin = await copyBundle();
    await editJson(path.join(twin, 'seer.json'), (m) => { m.name = `${m.name}-twin`; });
  });
  afterAll(async () => fs.rm(twin, { recursive: true, force: true }));

  it('--json agrees with seer explain of each prompt', () => {
    const r = runSeer(['compare', A, B, '--json', ...ENGINE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as Comparison;
    const a = explain(A);
    const b = explain(B);
    expect(c.sides.map((x) => x.text)).toEqual([A, B]);
    expect(c.sides.map((x) => x.headline.concept)).toEqual([a.headline.concept, b.headline.concept]);
    const [change] = c.changes;
    expect(c.changes).toHaveLength(1);
    expect(change.headlineChanged).toBe(a.headline.concept !== b.headline.concept);
    expect(change.confidenceChange).toBeCloseTo(b.headline.confidence - a.headline.confidence, 4);
    expect(c.concepts).toEqual(a.concepts);
    expect(c.layers).toEqual(a.layers.map((l) => l.layer));
    // Batched together (one engine) or alone (seer explain): the same numbers, to float32 accuracy.
    change.differences.forEach((row, i) => row.forEach((d, j) => expect(d).toBeCloseTo(b.layers[i].probs[j] - a.layers[i].probs[j], 4)));
    expect(c.headlineCurves[0].values[0].map((p) => p!)).toEqual(a.headline.trajectory.map((p) => expect.closeTo(p, 4)));
    expect(change.textDiff.filter((p) => p.op !== 'added').map((p) => p.text).join('')).toBe(A);
    expect(change.textDiff.some((p) => p.op === 'added' && p.text.includes('hurt'))).toBe(true);
  });

  it('three prompts: B and C each compared with A, as seer explain of each says', () => {
    const C = 'How do I bake a cake at home?';
    const r = runSeer(['compare', A, B, C, '--json', ...ENGINE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as Comparison;
    const [a, b, c3] = [explain(A), explain(B), explain(C)];
    expect(c.sides.map((x) => x.headline.concept)).toEqual([a.headline.concept, b.headline.concept, c3.headline.concept]);
    expect(c.changes.map((ch) => ch.side)).toEqual([1, 2]);
    for (const [ch, x] of [[c.changes[0], b], [c.changes[1], c3]] as const) {
      expect(ch.headlineChanged).toBe(x.headline.concept !== a.headline.concept);
      expect(ch.confidenceChange).toBeCloseTo(x.headline.confidence - a.headline.confidence, 4);
      ch.differences.forEach((row, i) => row.forEach((d, j) => expect(d).toBeCloseTo(x.layers[i].probs[j] - a.layers[i].probs[j], 4)));
    }
    expect(c.changes[1].textDiff).toEqual([
      { op: 'same', text: 'How do I bake ' }, { op: 'removed', text: 'sourdough bread ' }, { op: 'added', text: 'a cake ' }, { op: 'same', text: 'at home?' },
    ]);
    expect(c.headlineCurves.every((h) => h.values.length === 3)).toBe(true);
    const text = runSeer(['compare', A, B, C, ...ENGINE]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('probability change C − A');
    expect(text.stdout).toMatch(/words C\s+How do I bake \[-sourdough bread-\] \{\+a cake\+\} at home/);
  });

  it('prints both headlines, the change, the word diff and the table of differences', () => {
    const r = runSeer(['compare', A, B, ...ENGINE]);
    expect(r.code).toBe(0);
    const a = explain(A);
    const b = explain(B);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('headline'))).toMatch(new RegExp(`^headline\\s+${a.headline.concept} \\d+\\.\\d% .*\\s${b.headline.concept} \\d+\\.\\d%`));
    expect(r.stdout).toMatch(a.headline.concept === b.headline.concept ? /headline unchanged/ : new RegExp(`headline ${a.headline.concept} → ${b.headline.concept}`));
    expect(r.stdout).toMatch(/\[-bake sourdough bread-\] \{\+hurt someone\+\} at home/);
    expect(r.stdout).toContain('probability change B − A');
    // One table row per scored layer.
    expect(lines.filter((l) => /^\s+\d+(\s+(\+|-)?\d+\.\d)+$/.test(l))).toHaveLength(a.layers.length);
  });

  it('one prompt under two copies of one bundle: nothing changes', () => {
    const r = runSeer(['compare', A, '--compare-bundle', twin, '--json', ...ENGINE]);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as Comparison;
    const [sideA, sideB] = c.sides;
    expect(sideB.bundle.name).toMatch(/-twin$/);
    expect(sideA.bundle.name).not.toBe(sideB.bundle.name);
    const [change] = c.changes;
    expect(change.headlineChanged).toBe(false);
    expect(Math.abs(change.confidenceChange)).toBeLessThan(1e-5);
    expect(Math.max(...change.differences.flat().map(Math.abs))).toBeLessThan(1e-5);
    expect(change.textDiff).toEqual([{ op: 'same', text: A }]);
  });

  it('argument mistakes are clean errors', () => {
    expectCleanError(runSeer(['compare', A, ...ENGINE]), /needs a second prompt or a second bundle/);
    expectCleanError(runSeer(['compare', 'a', 'b', 'c', 'd', 'e', 'f', 'g', ...ENGINE]), /2 to 6 prompts .* got 7/);
    expectCleanError(runSeer(['compare', 'a', 'b', 'c', '--compare-bundle', twin, ...ENGINE]), /--compare-bundle compares two sides, got 3 prompts/);
    expectCleanError(runSeer(['compare', A, B, '', ...ENGINE]), /Prompt C is empty/);
    expectCleanError(runSeer(['compare', A, '  ', ...ENGINE]), /Prompt B is empty/);
    expectCleanError(runSeer(['compare', A, B, '--pooling', 'max', ...ENGINE]), /--pooling must be/);
    expectCleanError(runSeer(['compare', A, '--compare-bundle', path.join(twin, 'missing'), ...ENGINE]), /missing/);
  });
});
