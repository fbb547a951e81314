// `seer import` as users run it: `node bin/seer.js import` on a tiny random Llama-3.1 checkpoint (the trainer's
// own fixtures: trainer/tests/hf_fixtures.py + the Llama-3 tokenizer of test_hf_import.py), run by the
// trainer under /usr/bin/python3 (Debian's torch 1.13), then checked by loading the bundle with `seer info`.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runSeer } from './helpers';

const PYTHON = '/usr/bin/python3';
const TIMEOUT = 180_000;

/** Why the trainer cannot run here (undefined: it can). */
function missingPython(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx, jinja2, pytest'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} lacks torch, onnx, jinja2 or pytest (apt install python3-torch python3-onnx python3-jinja2 python3-pytest)`;
}

const skipReason = missingPython();
if (skipReason) console.warn(`skipping seer import tests: ${skipReason}`);

function expectCleanError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: /m);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toContain('fix: ');
  expect(r.stderr).not.toMatch(/Traceback|\n\s+at .*:\d+:\d+/); // no Python or Node stack trace
}

describe.skipIf(skipReason)('seer import', () => {
  let tmp: string;
  let checkpoint: string;

  const seerImport = (args: string[]) => runSeer(['import', ...args], { timeoutMs: TIMEOUT });

  /** A copy of the fixture checkpoint with config.json changed by `edit`. */
  async function editedCheckpoint(name: string, edit: (config: Record<string, unknown>) => Record<string, unknown>): Promise<string> {
    const copy = path.join(tmp, name);
    await fs.cp(checkpoint, copy, { recursive: true });
    const file = path.join(copy, 'config.json');
    await fs.writeFile(file, JSON.stringify(edit(JSON.parse(await fs.readFile(file, 'utf8')))));
    return copy;
  }

  beforeAll(() => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-import-'));
    const build = spawnSync(
      PYTHON,
      ['-c', 'import sys; from pathlib import Path; import test_hf_import as t; print(t.checkpoint(Path(sys.argv[1])))', tmp],
      { encoding: 'utf8', env: { ...process.env, PYTHONPATH: ['trainer/tests', 'trainer'].map((p) => path.join(ROOT, p)).join(path.delimiter) } },
    );
    if (build.status !== 0) throw new Error(`building the fixture checkpoint failed:\n${build.stderr}`);
    checkpoint = build.stdout.trim();
  }, TIMEOUT);
  afterAll(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('turns the checkpoint into a bundle the engine loads, and says how to calibrate it', () => {
    const out = path.join(tmp, 'bundle');
    const r = seerImport([checkpoint, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('exporting LlamaForCausalLM'); // the trainer's output, streamed through
    expect(r.stdout).toContain(`checked: the engine loads ${out}`);
    expect(r.stdout).toMatch(/architecture\s+hf-llama: 2 layers, hidden 64/);
    expect(r.stdout).toMatch(/target layer\s+2 of 2/);
    expect(r.stdout).toContain('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n{prompt}<|eot_id|>');
    expect(r.stdout).toContain(`no concept bank yet: run seer calibrate DATA --label COLUMN --bundle ${out} --bank-name default`);

    const info = runSeer(['info', '--json', '--bundle', out, '--provider', 'cpu']);
    expect(info.code).toBe(0);
    const loaded = JSON.parse(info.stdout);
    expect(loaded.bundle.architecture.type).toBe('hf-llama');
    expect(loaded.bundle.banks).toEqual([]);
    expect(loaded.bundle.defaultBank).toBe('default'); // the name the calibrate hint above gives
  }, TIMEOUT);

  it('refuses an existing --out that is not a bundle, with or without --force, and leaves it as it was', async () => {
    const out = path.join(tmp, 'existing');
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, 'mine.txt'), 'keep');
    expectCleanError(seerImport([checkpoint, '--out', out]), /already exists.*--force/);
    expect(await fs.readdir(out)).toEqual(['mine.txt']);
    // --force reaches the trainer, which replaces only a bundle (test_hf_import.py tests the replacement)
    expectCleanError(seerImport([checkpoint, '--out', out, '--force']), /not a SEER bundle.*choose another --out/);
    expect(await fs.readdir(out)).toEqual(['mine.txt']);
  }, TIMEOUT);

  it('names the modules a Python without torch lacks, and the packages to install', async () => {
    const noSite = path.join(tmp, 'python-without-packages');
    // -S: no site-packages, so Debian's torch, onnx and jinja2 are not importable
    await fs.writeFile(noSite, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`, { mode: 0o755 });
    const out = path.join(tmp, 'never');
    const r = seerImport([checkpoint, '--out', out, '--python', noSite]);
    expectCleanError(r, /cannot import torch, onnx, jinja2/);
    expect(r.stderr).toContain('python3-torch python3-onnx python3-jinja2');
    expectCleanError(seerImport([checkpoint, '--out', out, '--python', path.join(tmp, 'no-such-python')]), /Cannot run Python .*not found/);
    expect(existsSync(out)).toBe(false);
  }, TIMEOUT);

  it("passes the trainer's message for an unsupported architecture through, without a stack trace", async () => {
    const mamba = await editedCheckpoint('mamba', (c) => ({ ...c, architectures: ['MambaForCausalLM'], model_type: 'mamba' }));
    const out = path.join(tmp, 'mamba-bundle');
    const r = seerImport([mamba, '--out', out]);
    expectCleanError(r, /MambaForCausalLM/);
    expect(r.stderr.match(/^error: /gm)).toHaveLength(1); // printed once, by the CLI
    expect(existsSync(out)).toBe(false);
  }, TIMEOUT);

  it('needs a checkpoint folder and --out', () => {
    expectCleanError(runSeer(['import', checkpoint]), /one checkpoint folder and --out/);
  });
});
