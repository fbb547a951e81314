// `seer import` as users run it: `node bin/seer.js import` on a tiny random Llama-3.1 checkpoint (the trainer's
// own fixtures: trainer/tests/hf_fixtures.py + the Llama-3 tokenizer of test_hf_import.py), run by the
// trainer under /usr/bin/python3 (Debian's torch 1.13), then checked by loading the bundle with `seer info`;
// `--calibrate` end to end up to `seer explain`; and a cancelled importCheckpoint (engine/src/importer.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeerError } from '../../engine/src/errors';
import { importCheckpoint, importPython } from '../../engine/src/importer';
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
    expect(r.stdout).toContain('LlamaForCausalLM (2 layers, hidden 64)'); // the trainer's output, streamed through
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

  it('passes --dtype fp16 through to the trainer: half-size weights, a bundle the engine loads', async () => {
    const out = path.join(tmp, 'bundle-fp16');
    const r = seerImport([checkpoint, '--out', out, '--dtype', 'fp16']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`checked: the engine loads ${out}`);
    const fp32Bytes = (await fs.stat(path.join(tmp, 'bundle', 'model.onnx'))).size; // the first test's import
    const fp16Bytes = (await fs.stat(path.join(out, 'model.onnx'))).size;
    expect(fp16Bytes).toBeLessThan(0.6 * fp32Bytes);
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

  it('with no --python, the first Python that has torch, onnx and jinja2; none: the first one\'s problem', async () => {
    const noSite = path.join(tmp, 'python-without-site');
    await fs.writeFile(noSite, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`, { mode: 0o755 });
    // As on the GPU machine measured: the first candidate lacks the packages, the next has them.
    expect(await importPython(undefined, [noSite, PYTHON])).toBe(PYTHON);
    const err = await importPython(undefined, [noSite, path.join(tmp, 'no-such-python')]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SeerError);
    expect((err as SeerError).message).toMatch(/python-without-site cannot import torch, onnx, jinja2/);
  }, TIMEOUT);

  it("passes the trainer's message for an unsupported architecture through, without a stack trace", async () => {
    const mamba = await editedCheckpoint('mamba', (c) => ({ ...c, architectures: ['MambaForCausalLM'], model_type: 'mamba' }));
    const out = path.join(tmp, 'mamba-bundle');
    const r = seerImport([mamba, '--out', out]);
    expectCleanError(r, /MambaForCausalLM/);
    expect(r.stderr).toContain('--via transformers');
    expect(r.stderr.match(/^error: /gm)).toHaveLength(1); // printed once, by the CLI
    // --via reaches the trainer, whose Python here has no transformers (test_transformers_export.py tests the export)
    expectCleanError(seerImport([mamba, '--out', out, '--via', 'transformers']), /needs the transformers package.*pip install transformers/);
    expect(existsSync(out)).toBe(false);
  }, TIMEOUT);

  it('needs a checkpoint folder and --out', () => {
    expectCleanError(runSeer(['import', checkpoint]), /one checkpoint folder and --out/);
  });

  it('refuses a folder without tokenizer.json or weights before starting Python, and a bad --dtype', async () => {
    const noTokenizer = path.join(tmp, 'no-tokenizer');
    await fs.cp(checkpoint, noTokenizer, { recursive: true });
    await fs.rm(path.join(noTokenizer, 'tokenizer.json'));
    for (const f of await fs.readdir(noTokenizer)) if (f.endsWith('.safetensors')) await fs.rm(path.join(noTokenizer, f));
    const out = path.join(tmp, 'never');
    // --python names a Python that does not exist: the folder check comes first, so it is never needed
    const r = seerImport([noTokenizer, '--out', out, '--python', path.join(tmp, 'no-such-python')]);
    expectCleanError(r, /is not a Hugging Face checkpoint folder: it lacks the weights \(\*\.safetensors.*\), tokenizer\.json\./);
    expect(existsSync(out)).toBe(false);
    expectCleanError(seerImport([checkpoint, '--out', out, '--dtype', 'bf16']), /--dtype must be fp32 or fp16, got "bf16"/);
    expectCleanError(seerImport([checkpoint, '--out', out, '--via', 'onnx']), /--via must be graph or transformers, got "onnx"/);
    expectCleanError(seerImport([checkpoint, '--out', out, '--label', 'topic']), /--label and --text go with --calibrate/);
  });

  describe('--calibrate', () => {
    let data: string;
    beforeAll(async () => {
      // 3 concepts x 6 rows, in the columns a user would name (not the defaults): --text question --label topic
      const rows: Record<string, string[]> = {
        cooking: ['how long do I boil an egg', 'best way to roast garlic', 'a quick pasta sauce recipe', 'how to season a cast iron pan', 'why did my bread not rise', 'how much salt in soup'],
        weather: ['will it rain tomorrow', 'what causes thunderstorms', 'how cold is it tonight', 'is a heatwave coming', 'why is the sky cloudy', 'how strong is the wind'],
        finance: ['how do I open a savings account', 'what is compound interest', 'should I pay off my loan early', 'how do index funds work', 'what is a credit score', 'how to budget my salary'],
      };
      const lines = ['question,topic', ...Object.entries(rows).flatMap(([topic, qs]) => qs.map((q) => `"${q}",${topic}`))];
      data = path.join(tmp, 'labelled.csv');
      await fs.writeFile(data, `${lines.join('\n')}\n`);
    });

    it('imports, writes the default bank into the new bundle, and seer explain uses it at once', () => {
      const out = path.join(tmp, 'calibrated');
      const r = seerImport([checkpoint, '--out', out, '--calibrate', data, '--label', 'topic', '--text', 'question']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`calibrating the bank "default" of ${out}`);
      expect(r.stdout).toMatch(/concept banks\s+default/);
      expect(r.stdout).not.toMatch(/^no concept bank yet/m); // the summary's hint (the trainer's own line precedes calibration)
      const manifest = JSON.parse(readFileSync(path.join(out, 'seer.json'), 'utf8'));
      expect(manifest.banks).toEqual({ default: 'banks/default.json' });
      const bank = JSON.parse(readFileSync(path.join(out, 'banks', 'default.json'), 'utf8'));
      expect(JSON.stringify(bank)).toContain('"cooking"');

      const explained = runSeer(['explain', 'how do I bake a cake', '--bundle', out, '--provider', 'cpu', '--json'], { timeoutMs: TIMEOUT });
      expect(explained.stderr).not.toMatch(/^error: /m);
      expect(explained.code).toBe(0);
      const concepts = JSON.stringify(JSON.parse(explained.stdout));
      for (const c of ['cooking', 'weather', 'finance']) expect(concepts).toContain(`"${c}"`);
    }, TIMEOUT);

    it('checks the dataset\'s columns before importing, so a typo costs no import', () => {
      const out = path.join(tmp, 'not-imported');
      const r = seerImport([checkpoint, '--out', out, '--calibrate', data, '--label', 'topics', '--text', 'question']);
      expectCleanError(r, /has no column "topics" \(it has question, topic\)\. Nothing was imported\./);
      expect(r.stdout).not.toContain('LlamaForCausalLM'); // the trainer never ran
      expect(existsSync(out)).toBe(false);
      expectCleanError(seerImport([checkpoint, '--out', out, '--calibrate', data]), /--calibrate needs --label/);
    }, TIMEOUT);
  });

  it('cancelled while writing, leaves no bundle and no temporary folder', async () => {
    const parent = path.join(tmp, 'cancel');
    await fs.mkdir(parent);
    const out = path.join(parent, 'bundle');
    // The tiny model is written in a blink; this Python holds the import inside its temporary folder (the
    // tokenizer copy, within the trainer's cleanup block) until it is cancelled, so the cancel lands there.
    const hooks = path.join(tmp, 'hold-hooks');
    await fs.mkdir(hooks);
    await fs.writeFile(path.join(hooks, 'sitecustomize.py'), [
      'import shutil, time',
      'real_copyfile = shutil.copyfile',
      'def holding_copyfile(src, dst, *a, **k):',
      '    if str(dst).endswith("tokenizer.json") and ".importing" in str(dst):',
      '        print("holding the import inside its temporary folder", flush=True)',
      '        time.sleep(120)',
      '    return real_copyfile(src, dst, *a, **k)',
      'shutil.copyfile = holding_copyfile',
    ].join('\n'));
    const holdingPython = path.join(tmp, 'python-holding');
    await fs.writeFile(holdingPython, `#!/bin/sh\nPYTHONPATH="${hooks}:$PYTHONPATH" exec ${PYTHON} "$@"\n`, { mode: 0o755 });

    const controller = new AbortController();
    let atCancel: string[] = [];
    const err = await importCheckpoint({
      checkpoint,
      out,
      python: holdingPython,
      trainerDir: path.join(ROOT, 'trainer'),
      signal: controller.signal,
      onLine: (line) => {
        if (!line.startsWith('holding the import')) return;
        atCancel = readdirSync(parent);
        controller.abort();
      },
    }).then(() => undefined, (e: unknown) => e);
    expect(atCancel).toEqual([expect.stringMatching(/^\.bundle\..*\.importing$/)]); // cancelled mid-write
    expect(err).toBeInstanceOf(SeerError);
    expect((err as SeerError).code).toBe('CANCELLED');
    expect(await fs.readdir(parent)).toEqual([]); // the trainer removed its temporary folder on SIGTERM
    // and a rerun starts clean
    await importCheckpoint({ checkpoint, out, python: PYTHON, trainerDir: path.join(ROOT, 'trainer') });
    expect(readdirSync(parent)).toEqual(['bundle']);
  }, TIMEOUT);
});
