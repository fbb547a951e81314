// Broken bundles, built by copying the bundle under test and damaging one thing: each must give one clear
// SeerError naming the file and a fix, never a crash. Also: providers that are missing or fail mid-run.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceOutOfMemory } from '../../engine/src/batching';
import { loadBundle } from '../../engine/src/bundle/index';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import { ModelSession } from '../../engine/src/runtime/modelSession';
import { createSession, unavailableReason } from '../../engine/src/runtime/providers';
import { BUNDLE_DIR, copyBundle, editJson } from './helpers';

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function broken(damage: (dir: string, manifest: Record<string, any>) => Promise<void> | void): Promise<string> {
  const dir = await copyBundle();
  made.push(dir);
  const manifestFile = path.join(dir, 'seer.json');
  const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8'));
  await damage(dir, manifest);
  if (await fs.stat(manifestFile).catch(() => null)) await fs.writeFile(manifestFile, JSON.stringify(manifest));
  return dir;
}

async function loadError(dir: string, provider: 'auto' | 'cpu' | 'cuda' | 'webgpu' = 'cpu'): Promise<SeerError> {
  const err = await Engine.load({ bundleDir: dir, provider }).then(
    async (e) => {
      await e.dispose();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SeerError);
  const e = err as SeerError;
  expect(e.fix, 'every error says what to do').toBeTruthy();
  expect(e.message).not.toMatch(/\n\s+at /); // no stack trace in the message
  return e;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('broken bundles', () => {
  it('a missing bundle folder', async () => {
    const e = await loadError(path.join(BUNDLE_DIR, 'does-not-exist'));
    expect(e.code).toBe('BUNDLE_NOT_FOUND');
    expect(e.fixFor('cli')).toContain('--bundle');
    expect(e.fixFor('editor')).toContain('SEER: Select SEER Model Bundle');
  });

  it.each([['seer.json'], ['model.onnx'], ['tokenizer.json'], ['banks/default.json']])('a missing %s', async (file) => {
    const dir = await broken((d, m) => {
      const real = file === 'model.onnx' ? m.files.model : file === 'tokenizer.json' ? m.files.tokenizer : file === 'banks/default.json' ? m.banks[m.defaultBank] : file;
      return fs.rm(path.join(d, real));
    });
    const e = await loadError(dir);
    expect(e.code).toBe('BUNDLE_INVALID');
    expect(e.file).toContain(path.basename(file));
    expect(e.message).toContain(path.basename(file));
  });

  it('a manifest of another format version', async () => {
    const e = await loadError(await broken((_, m) => void (m.formatVersion = 3)));
    expect(e.code).toBe('BUNDLE_VERSION');
    expect(e.message).toMatch(/formatVersion.*3.*version 2/);
    expect(e.file).toMatch(/seer\.json$/);
  });

  it('a format-1 bundle is refused with the way to rebuild it', async () => {
    const e = await loadError(await broken((_, m) => void (m.formatVersion = 1)));
    expect(e.code).toBe('BUNDLE_VERSION');
    expect(e.message).toMatch(/formatVersion.*is 1.*no longer reads.*format 2/);
    expect(e.fixFor('cli')).toContain('npm run build:model');
    expect(e.fixFor('cli')).toContain('seer import');
  });

  it.each([
    ['targetLayers out of range', (m: any) => void (m.targetLayers = [m.architecture.numLayers + 1]), 'targetLayers[0]'],
    ['renamed ONNX output', (m: any) => void (m.onnx.outputs = ['logits', 'hidden_states']), 'onnx.outputs'],
    ['format-1 ONNX inputs', (m: any) => void (m.onnx.inputs = ['input_ids', 'attention_mask']), 'onnx.inputs'],
    ['opset below 17', (m: any) => void (m.onnx.opset = 14), 'onnx.opset'],
    ['weight dtype bfloat16', (m: any) => void (m.onnx.weightsDtype = 'bfloat16'), 'onnx.weightsDtype'],
    ['pooling "first"', (m: any) => void (m.representation = 'first'), 'representation'],
    ['external data in another folder', (m: any) => void (m.onnx.externalData = { file: '../model.onnx.data', bytes: 1, sha256: 'a'.repeat(64) }), 'onnx.externalData.file'],
    ['external data of 0 bytes', (m: any) => void (m.onnx.externalData = { file: 'model.onnx.data', bytes: 0, sha256: 'a'.repeat(64) }), 'onnx.externalData.bytes'],
    ['external data without a checksum', (m: any) => void (m.onnx.externalData = { file: 'model.onnx.data', bytes: 1 }), 'onnx.externalData.sha256'],
    ['template without {prompt}', (m: any) => void (m.promptTemplate = 'no placeholder'), 'promptTemplate'],
    ['non-numeric hidden size', (m: any) => void (m.architecture.hiddenSize = '128'), 'architecture.hiddenSize'],
    ['unknown default bank', (m: any) => void (m.defaultBank = 'nope'), 'defaultBank'],
    ['safe concept that is not a concept', (m: any) => void m.safeConcepts.push('not-a-concept'), 'safeConcepts'],
  ])('a manifest with a %s', async (_name, edit, field) => {
    const e = await loadError(await broken((_, m) => edit(m)));
    expect(e.code).toBe('BUNDLE_INVALID');
    expect(e.message).toContain(`"${field}`);
  });

  it('seer.json that is not JSON', async () => {
    const dir = await copyBundle();
    made.push(dir);
    await fs.writeFile(path.join(dir, 'seer.json'), '{ "format": "seer-bundle", ');
    const e = await loadError(dir);
    expect(e.code).toBe('BUNDLE_INVALID');
    expect(e.message).toContain('not valid JSON');
  });

  it('a tokenizer.json that does not parse', async () => {
    const e = await loadError(await broken((d, m) => fs.writeFile(path.join(d, m.files.tokenizer), '{"version": "1.0", "model": {')));
    expect(e.code).toBe('TOKENIZER_INVALID');
    expect(e.file).toMatch(/tokenizer\.json$/);
  });

  it('a tokenizer.json that parses but is not a byte-level BPE tokenizer', async () => {
    const e = await loadError(await broken((d, m) => editJson(path.join(d, m.files.tokenizer), (t) => void (t.pre_tokenizer = null))));
    expect(e.code).toBe('TOKENIZER_INVALID');
  });

  it('a concept bank made for another model', async () => {
    const e = await loadError(await broken((d, m) => editJson(path.join(d, m.banks[m.defaultBank]), (b) => void (b.modelSha256 = 'f'.repeat(64)))));
    expect(e.code).toBe('BANK_MODEL_MISMATCH');
    expect(e.message).toContain('another model');
    expect(e.fixFor('cli')).toContain('seer calibrate');
    expect(e.fixFor('editor')).toContain('SEER: Calibrate Concepts from Dataset');
  });

  it('a concept bank with prototypes of the wrong size', async () => {
    const e = await loadError(await broken((d, m) => editJson(path.join(d, m.banks[m.defaultBank]), (b) => {
      const bytes = Buffer.from(b.layers[2].prototypes.data, 'base64');
      b.layers[2].prototypes.data = bytes.subarray(0, bytes.length - 4).toString('base64'); // one value short
    })));
    expect(e.code).toBe('BANK_INVALID');
    expect(e.message).toContain('"layers[2].prototypes.data" must hold 2560 float32 values');
  });

  it('a truncated model.onnx (caught by the manifest checksum)', async () => {
    const e = await loadError(await broken(async (d, m) => {
      const f = path.join(d, m.files.model);
      const bytes = await fs.readFile(f);
      await fs.writeFile(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
    }));
    expect(e.code).toBe('MODEL_CHANGED');
    expect(e.message).toContain('truncated');
  });

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 3))],
    ['not ONNX', () => Buffer.from('this is not an ONNX model\n')],
    ['empty', () => Buffer.alloc(0)],
  ])('a model.onnx that is %s (even with a matching checksum)', async (_name, damage) => {
    const e = await loadError(await broken(async (d, m) => {
      const f = path.join(d, m.files.model);
      const bad = damage(await fs.readFile(f));
      await fs.writeFile(f, bad);
      m.modelSha256 = sha256(bad);
      await editJson(path.join(d, m.banks[m.defaultBank]), (b) => void (b.modelSha256 = m.modelSha256));
    }), 'auto');
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.file).toMatch(/model\.onnx$/);
  });

  it('a model whose outputs disagree with the manifest', async () => {
    const e = await loadError(await broken((_, m) => void (m.architecture.vocabSize += 1)));
    expect(e.code).toBe('MODEL_MISMATCH');
    expect(e.message).toContain('"last_logits" dimension 1');
  });
});

describe('execution providers', () => {
  it('auto says which provider ran and why each other was skipped', async () => {
    const engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'auto' });
    try {
      const p = engine.info.provider;
      expect(p.requested).toBe('auto');
      expect(p.attempts.map((a) => a.provider)).toEqual(['cuda', 'torch', 'webgpu', 'cpu'].slice(0, p.attempts.length));
      expect(p.attempts[p.attempts.length - 1]).toEqual({ provider: p.used, ok: true });
      for (const a of p.attempts.slice(0, -1)) expect(a.reason).toBeTruthy();
    } finally {
      await engine.dispose();
    }
  });

  it('an explicit provider that is not available fails loudly', async () => {
    const reason = unavailableReason('cuda');
    if (reason === null) return; // this machine has the CUDA provider library: nothing to fail
    const e = await loadError(BUNDLE_DIR, 'cuda');
    expect(e.code).toBe('PROVIDER_UNAVAILABLE');
    expect(e.message).toContain(reason);
  });

  it('a provider failing mid-run is replaced by CPU once, and the result says so', async () => {
    const bundle = await loadBundle(BUNDLE_DIR);
    const ids = [bundle.tokenizer.bosId, 5, 6, 7];
    const want = { positions: [3], logits: true, tokenLayers: [1] };
    const real = await ModelSession.open(bundle, 'cpu', {});
    const expected = await real.forward([ids], bundle.tokenizer.padId, want);
    await real.release();
    let calls = 0;
    const model = ModelSession.wrap(failingSession(() => calls++), webgpuReport(), bundle.manifest, () => fs.readFile(bundle.modelFile));
    const out = await model.forward([ids], bundle.tokenizer.padId, want);
    expect(calls).toBe(1);
    expect(model.report.used).toBe('cpu');
    expect(model.report.fellBackToCpu).toContain('device lost');
    expect(Array.from(out.states)).toEqual(Array.from(expected.states));
    expect(Array.from(out.tokenStates)).toEqual(Array.from(expected.tokenStates));
    expect(Array.from(out.lastLogits!)).toEqual(Array.from(expected.lastLogits!));
    await model.forward([[bundle.tokenizer.bosId, 9]], bundle.tokenizer.padId, { positions: [1] });
    expect(calls).toBe(1); // stays on CPU
    await model.release();
  });
});

describe('out of device memory (the torch provider on CUDA)', () => {
  it('several rows: the error reaches the engine (which splits the batch) and the GPU is kept; one row: that run falls back to CPU', async () => {
    const bundle = await loadBundle(BUNDLE_DIR);
    const cpu = await ModelSession.open(bundle, 'cpu', {});
    const BOS = bundle.tokenizer.bosId;
    const rows = [[BOS, 5, 6, 7], [BOS, 8, 9]];
    const want = { positions: [3, 2], logits: true };
    const expected = await cpu.forward(rows, bundle.tokenizer.padId, want);
    // Fits one row at a time, as a GPU near its memory limit would.
    const real = await createSession(await fs.readFile(bundle.modelFile), 'cpu', {});
    let oom = 0;
    const nearlyFull = {
      ...failingSession(() => undefined),
      run: async (feeds: Record<string, ort.Tensor>, fetches: readonly string[]) => {
        if (feeds.input_ids.dims[0] > 1) {
          oom++;
          throw new DeviceOutOfMemory('PyTorch (cuda:0): OutOfMemoryError: CUDA out of memory');
        }
        return real.run(feeds, fetches);
      },
    };
    const model = ModelSession.wrap(nearlyFull, torchReport(), bundle.manifest, () => fs.readFile(bundle.modelFile));
    await expect(model.forward(rows, bundle.tokenizer.padId, want)).rejects.toBeInstanceOf(DeviceOutOfMemory);
    expect(model.report.used).toBe('torch'); // still on the GPU
    expect(model.report.fellBackToCpu).toBeUndefined();
    for (const [b, row] of rows.entries()) {
      const one = await model.forward([row], bundle.tokenizer.padId, { positions: [want.positions[b]], logits: true });
      const H = bundle.manifest.architecture.hiddenSize;
      for (let l = 0; l <= bundle.manifest.architecture.numLayers; l++) {
        expect(Array.from(one.states.subarray(l * H, (l + 1) * H))).toEqual(Array.from(expected.states.subarray((l * 2 + b) * H, (l * 2 + b + 1) * H)));
      }
    }
    expect(oom).toBe(1);
    // A single row that does not fit either: redone on CPU, as any GPU failure.
    const full = ModelSession.wrap({ ...nearlyFull, run: async () => Promise.reject(new DeviceOutOfMemory('CUDA out of memory')) }, torchReport(), bundle.manifest, () => fs.readFile(bundle.modelFile));
    await full.forward([rows[0]], bundle.tokenizer.padId, { positions: [3] });
    expect(full.report.used).toBe('cpu');
    expect(full.report.fellBackToCpu).toMatch(/^torch failed during a forward pass \(CUDA out of memory\)/);
    await Promise.all([cpu.release(), real.release(), model.release(), full.release()]);
  });
});

const torchReport = () => ({ used: 'torch' as const, requested: 'torch' as const, attempts: [{ provider: 'torch' as const, ok: true }] });

/** A session whose every run fails as a lost GPU would. */
function failingSession(onRun: () => void) {
  return {
    inputNames: [],
    outputNames: [],
    inputMetadata: [],
    outputMetadata: [],
    run: async () => {
      onRun();
      throw new Error('device lost');
    },
    release: async () => undefined,
  };
}

const webgpuReport = () => ({ used: 'webgpu' as const, requested: 'auto' as const, attempts: [{ provider: 'webgpu' as const, ok: true }] });
