// `npm run bench:host`: the engine's own work per explain with the torch provider's forward replaced by the stand-in
// (bench/standin-forward). Small shapes on the committed default keep it short; the bench's own run adds the
// Llama-3.2-1B-shaped bundle and the shapes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE_DIR, ROOT } from '../engine/helpers';
import { trainerMissing } from '../engine/trainerBundle';

const noPython = trainerMissing(); // a Python with torch has numpy, all the stand-in needs
const dir = mkdtempSync(path.join(os.tmpdir(), 'seer-host-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bench = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bench', 'host-work.mjs'), ...args], {
  encoding: 'utf8', timeout: 120_000, env: { ...process.env, SEER_PYTHON: process.env.SEER_PYTHON ?? '/usr/bin/python3' },
});

describe.skipIf(Boolean(noPython))('the host-work benchmark', () => {
  it('times the engine\'s own work per shape against the stand-in forward and writes both result files', () => {
    const out = path.join(dir, 'out');
    const r = bench(['--bundles', BUNDLE_DIR, '--tokens', '16,48', '--batches', '1,4', '--runs', '3', '--warm', '1', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(path.join(out, 'results-host-work.json'), 'utf8'));
    expect(json.machine.cores).toBe(os.cpus().length);
    const [model] = json.models;
    expect(model.architecture.hiddenSize).toBe(JSON.parse(readFileSync(path.join(BUNDLE_DIR, 'seer.json'), 'utf8')).architecture.hiddenSize);
    expect(model.rows.map((row: { tokens: number; batch: number }) => [row.tokens, row.batch])).toEqual([[16, 1], [16, 4], [48, 1], [48, 4]]);
    for (const row of model.rows) {
      expect(row.runs).toBe(3);
      expect(row.engineMs).toBeGreaterThan(0);
      expect(row.engineCpuMs).toBeGreaterThan(0);
      expect(row.perPromptMs).toBeCloseTo(row.engineMs / row.batch, 1);
    }
    const md = readFileSync(path.join(out, 'RESULTS-host-work.md'), 'utf8');
    expect(md).toContain(`| ${model.name} | ${model.architecture.numLayers + 1} × ${model.architecture.hiddenSize} | 48 × 4 | ${model.rows[3].engineMs} |`);
  }, 150_000);

  it('names a bundle that is not there', () => {
    const r = bench(['--bundles', path.join(dir, 'nothing'), '--out', path.join(dir, 'out2')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`bench:host: no SEER bundle at ${path.join(dir, 'nothing')}`);
  });
});
