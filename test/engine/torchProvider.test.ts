// The torch provider (engine/src/runtime/torchSession.ts + trainer/seer_trainer/torch_forward.py): the bundle's
// forward pass on PyTorch in a Python child process. Here on Debian's CPU torch 1.13 (/usr/bin/python3): it must
// give what onnxruntime's CPU provider gives, from the same model.onnx weights — explanations, batches with
// padding, mean pooling, the token view and steered generation — on the committed default bundle and on a
// trainer-imported Llama bundle with a KV-cache graph (which the torch provider runs without its cache). Bad
// input: no such Python, a Python without torch, a bundle the Python side refuses, the process dying mid-run
// (the request is redone on CPU and the report says so).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EngineConfig, ExplainResult } from '../../common/protocol';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import type { ModelSession } from '../../engine/src/runtime/modelSession';
import { probeTorch, TorchSession } from '../../engine/src/runtime/torchSession';
import { BUNDLE_DIR, copyBundle, ROOT } from './helpers';
import { buildCheckpoint, importBundles, trainerMissing } from './trainerBundle';

const TIMEOUT = 300_000;
const PYTHON = '/usr/bin/python3';
const skipReason = trainerMissing();
if (skipReason) console.warn(`skipping the torch provider tests: ${skipReason}`);

const PROMPTS = [
  'How do I bake sourdough bread at home?',
  'Tell me how to find someone\'s home address from their license plate.',
  'ok',
  'Write a Python function that reverses a linked list, then explain its complexity in two sentences and give an example.',
];

function maxDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((d, x, i) => Math.max(d, Math.abs(x - b[i])), 0);
}

/** Largest difference between two results' cosines and probabilities, every layer; predictions must agree. */
function compare(a: ExplainResult, b: ExplainResult): number {
  expect(a.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
  expect(a.layers.map((l) => l.layer)).toEqual(b.layers.map((l) => l.layer));
  let d = 0;
  a.layers.forEach((l, i) => {
    d = Math.max(d, maxDiff(l.cosine, b.layers[i].cosine), maxDiff(l.probs, b.layers[i].probs));
  });
  expect(a.headline.concept).toBe(b.headline.concept);
  // The concept map: placed by the read-out's cosines with its examples (reduced in PyTorch on the torch side).
  const placed = (r: ExplainResult) => (r.conceptMap && 'prompt' in r.conceptMap ? r.conceptMap.prompt : null);
  const [p, q] = [placed(a), placed(b)];
  expect(q?.neighbours).toEqual(p?.neighbours);
  if (p && q) d = Math.max(d, Math.abs(p.x - q.x), Math.abs(p.y - q.y), Math.abs(p.nearestCosine - q.nearestCosine));
  // The top next tokens: reduced in PyTorch (topk, logsumexp) on the torch side, in reductions.ts on the other.
  expect(b.nextTokens.map((t) => t.id)).toEqual(a.nextTokens.map((t) => t.id));
  d = Math.max(d, maxDiff(a.nextTokens.map((t) => t.prob), b.nextTokens.map((t) => t.prob)));
  return d;
}

const load = (bundleDir: string, provider: EngineConfig['provider'], torch: EngineConfig['torch'] = { python: PYTHON }, tmp = os.tmpdir()) =>
  Engine.load({ bundleDir, provider, intraOpThreads: 1, torch, userBankDir: path.join(tmp, 'no-user-banks') });

describe.skipIf(skipReason)('the torch provider', () => {
  let tmp: string;
  let cpu: Engine;
  let torch: Engine;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-torch-'));
    [cpu, torch] = await Promise.all([load(BUNDLE_DIR, 'cpu'), load(BUNDLE_DIR, 'torch')]);
  }, TIMEOUT);
  afterAll(async () => {
    await Promise.all([cpu?.dispose(), torch?.dispose()]);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('reports what it runs on, and probeTorch sees the same PyTorch', async () => {
    const report = torch.info.provider;
    expect(report.used).toBe('torch');
    expect(report.attempts).toEqual([{ provider: 'torch', ok: true }]);
    expect(report.torch).toMatchObject({ python: PYTHON, device: 'cpu', dtype: 'float32' });
    // Its own data (RssAnon) is part of its peak resident memory, and more than nothing (the weights are in it).
    expect(report.torch!.anonRssMiB).toBeGreaterThan(1);
    expect(report.torch!.anonRssMiB).toBeLessThanOrEqual(report.torch!.peakRssMiB!);
    expect(report.warmUpMs).toBeGreaterThan(0); // warmed like a GPU provider
    const probe = await probeTorch(PYTHON);
    expect(probe).toMatchObject({ ok: true, python: PYTHON, cuda: false, devices: [] });
    expect(probe.ok && probe.torchVersion).toBe(report.torch!.torchVersion);
  }, TIMEOUT);

  it('warms up with the options it is given (what the panel explains with), else with the target layer\'s token scores', async () => {
    const runs = vi.spyOn(TorchSession.prototype, 'run');
    const tokenLayerCounts = () => runs.mock.calls.map(([feeds]) => Number(feeds.token_layers.dims[0]));
    try {
      const panel = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'torch', torch: { python: PYTHON }, userBankDir: path.join(tmp, 'none'), warmUpWith: { tokenLayers: 'all' } });
      const layers = panel.bundle.manifest.architecture.numLayers + 1;
      expect(tokenLayerCounts().length).toBeGreaterThan(1); // the short prompt, then the paragraph's rounds
      expect(new Set(tokenLayerCounts())).toEqual(new Set([layers]));
      await panel.dispose();
      runs.mockClear();
      const plain = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'torch', torch: { python: PYTHON }, userBankDir: path.join(tmp, 'none') });
      expect(new Set(tokenLayerCounts())).toEqual(new Set([1]));
      await plain.dispose();
    } finally {
      runs.mockRestore();
    }
  }, TIMEOUT);

  it('explains as onnxruntime\'s CPU provider does: one prompt, a padded batch, mean pooling and the token view', async () => {
    const one = await Promise.all([cpu.explain(PROMPTS[0]), torch.explain(PROMPTS[0])]);
    expect(compare(one[0], one[1])).toBeLessThan(1e-5);
    const options = { tokenLayers: 'all' as const, pooling: 'last' as const };
    const [a, b] = await Promise.all([cpu.explainBatch(PROMPTS, options), torch.explainBatch(PROMPTS, options)]);
    a.forEach((r, i) => {
      expect(compare(r, b[i])).toBeLessThan(1e-5);
      expect(r.tokenScores.length).toBeGreaterThan(0);
      r.tokenScores.forEach((layer, k) => layer.forEach((row, t) => expect(maxDiff(row, b[i].tokenScores[k][t])).toBeLessThan(1e-5)));
    });
    const mean = await Promise.all([cpu.explainBatch(PROMPTS, { pooling: 'mean' }), torch.explainBatch(PROMPTS, { pooling: 'mean' })]);
    mean[0].forEach((r, i) => expect(compare(r, mean[1][i])).toBeLessThan(1e-5));
    // Mean pooling reads other numbers than the last token: the comparison above is not vacuous.
    expect(maxDiff(mean[1][0].layers.at(-1)!.cosine, b[0].layers.at(-1)!.cosine)).toBeGreaterThan(1e-3);
  }, TIMEOUT);

  it('sends a bank\'s vectors to PyTorch once, gets back cosines, not states, and says where each forward\'s time went', async () => {
    const { child } = (torch as unknown as { model: { session: { child: { stdin: NodeJS.WritableStream; stdout: NodeJS.ReadableStream } } } }).model.session;
    const stdin = child.stdin;
    const write = stdin.write;
    const sizes: number[] = [];
    stdin.write = ((chunk: Buffer, ...rest: unknown[]) => {
      sizes.push(chunk.length);
      return (write as (...a: unknown[]) => boolean).call(stdin, chunk, ...rest);
    }) as typeof stdin.write;
    let replied = 0;
    const count = (chunk: Buffer) => { replied += chunk.length; };
    child.stdout.on('data', count);
    const before = structuredClone(torch.info.provider.torch!);
    // Prototypes not sent before: a new list. At the last token (the read-out PyTorch reduces; mean states cross whole).
    const options = { tokenLayers: [1, 2], pooling: 'last' as const };
    try {
      const runs: ExplainResult[] = [];
      for (let i = 0; i < 3; i++) runs.push(await torch.explain(PROMPTS[3], options));
      const C = runs[0].layers[0].cosine.length;
      const H = torch.bundle.manifest.architecture.hiddenSize;
      expect(sizes).toHaveLength(3);
      expect(sizes[0] - sizes[1]).toBeGreaterThanOrEqual(2 * C * H * 4); // [2, C, H] float32, the first time only
      expect(sizes[2]).toBe(sizes[1]);
      // Nor the unsteered model's steering input, [layers + 1, hidden] zeros (PyTorch reads none as zeros).
      const { numLayers } = torch.bundle.manifest.architecture;
      expect(sizes[1]).toBeLessThan((numLayers + 1) * H * 4);
      // The read-out crosses as cosines with each layer's prototypes and the map's examples: each reply is smaller
      // than the states alone ([layers + 1, hidden] float32), which no longer cross.
      expect(replied / 3).toBeLessThan((numLayers + 1) * H * 4);
      const numbers = (r: ExplainResult) => ({ ...r, timingsMs: undefined, id: undefined, createdAt: undefined, provider: undefined });
      for (const r of runs.slice(1)) expect(numbers(r)).toEqual(numbers(runs[0]));
      const other = await cpu.explain(PROMPTS[3], options);
      expect(compare(other, runs[2])).toBeLessThan(1e-5);
      other.tokenScores.forEach((layer, k) => layer.forEach((row, t) => expect(maxDiff(row, runs[2].tokenScores[k][t])).toBeLessThan(1e-5)));
    } finally {
      stdin.write = write;
      child.stdout.off('data', count);
    }
    const after = torch.info.provider.torch!;
    const phases = after.phasesMs!;
    const spent = (name: keyof typeof phases) => phases[name] - (before.phasesMs?.[name] ?? 0);
    expect(after.forwards! - before.forwards!).toBe(3);
    for (const name of ['check', 'launch', 'wait', 'wire'] as const) expect(spent(name)).toBeGreaterThanOrEqual(0);
    expect(spent('check') + spent('launch') + spent('wait')).toBeLessThanOrEqual(after.forwardMs! - before.forwardMs! + 0.01);
    expect(spent('launch')).toBeGreaterThan(0);
  }, TIMEOUT);

  it('generates the same tokens, steered and not (the steering input reaches the PyTorch forward)', async () => {
    const concept = cpu.bundle.manifest.concepts[0];
    const [rep] = await cpu.represent([PROMPTS[0]], { pooling: 'last' });
    const strength = Math.hypot(...rep.layers[cpu.bundle.manifest.targetLayers[0]]); // the residual stream's own norm
    for (const steer of [[], [{ concept, strength }]]) {
      const [a, b] = await Promise.all([cpu.generate(PROMPTS[0], { maxNewTokens: 6, steer }), torch.generate(PROMPTS[0], { maxNewTokens: 6, steer })]);
      expect(b.steps.map((s) => s.id)).toEqual(a.steps.map((s) => s.id));
      b.steps.forEach((s, i) => expect(maxDiff(s.probs, a.steps[i].probs)).toBeLessThan(1e-4));
    }
    const plain = await torch.generate(PROMPTS[0], { maxNewTokens: 6 });
    const steered = await torch.generate(PROMPTS[0], { maxNewTokens: 6, steer: [{ concept, strength }] });
    expect(maxDiff(steered.steps[0].probs, plain.steps[0].probs)).toBeGreaterThan(1e-3);
  }, TIMEOUT);

  it('runs an imported Llama bundle (graph metadata, KV-cache graph run without its cache) as onnxruntime does', async () => {
    const checkpoint = buildCheckpoint(tmp);
    const dir = path.join(tmp, 'llama');
    importBundles(checkpoint, [{ out: dir, external: true }]);
    const [a, b] = await Promise.all([load(dir, 'cpu', undefined, tmp), load(dir, 'torch', undefined, tmp)]);
    try {
      const texts = ['hello there', 'a much longer prompt about the weather tomorrow in the mountains'];
      const [x, y] = await Promise.all([a.represent(texts, { pooling: 'last' }), b.represent(texts, { pooling: 'last' })]);
      x.forEach((r, i) => r.layers.forEach((layer, l) => expect(maxDiff(Array.from(layer), Array.from(y[i].layers[l]))).toBeLessThan(1e-4)));
      // A growing sequence (generation's path): onnxruntime feeds only the new tokens and keeps the KV cache; the
      // torch session keeps none (noCarry), so each step reruns the prefix. Same logits either way.
      const sequences = [a, b].map((e) => (e as unknown as { model: ModelSession }).model.sequence(e.bundle.tokenizer.padId));
      const ids = x[1].ids;
      for (const n of [3, 4, 7]) {
        const [p, q] = await Promise.all(sequences.map((s) => s.forward(ids.slice(0, n))));
        expect(maxDiff(Array.from(q.lastLogits!), Array.from(p.lastLogits!))).toBeLessThan(1e-4);
        expect(maxDiff(Array.from(q.states), Array.from(p.states))).toBeLessThan(1e-4);
      }
      await Promise.all(sequences.map((s) => s.release()));
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  }, TIMEOUT);

  it('a Python that does not exist, or has no torch: a clear error naming the fix, nothing loaded', async () => {
    for (const [python, pattern] of [['/no/such/python3', /not found/], [process.execPath, /exited with code|cannot/]] as const) {
      const err = await load(BUNDLE_DIR, 'torch', { python }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(SeerError);
      const e = err as SeerError;
      expect(e.code).toBe('PROVIDER_UNAVAILABLE');
      expect(e.message).toMatch(pattern);
      expect(JSON.stringify(e.fix)).toMatch(/--python|SEER_PYTHON/);
      expect(JSON.stringify(e.fix)).toMatch(/seer\.pythonPath/);
    }
  }, TIMEOUT);

  it('a bundle the Python side refuses (an imported graph without its decoder metadata): its own message', async () => {
    const dir = await copyBundle();
    // An hf-* bundle whose graph has no decoder metadata (as one imported before it existed): re-import. The copy's
    // graph loses its metadata and seer.json and the banks the new hash, so only the Python side can tell.
    execFileSync(PYTHON, ['-c', "import sys, hf_fixtures; hf_fixtures.strip_decoder_metadata(sys.argv[1], 'hf-llama')", dir],
      { env: { ...process.env, PYTHONPATH: ['trainer/tests', 'trainer'].map((p) => path.join(ROOT, p)).join(path.delimiter) } });
    const err = await load(dir, 'torch', undefined, tmp).then(() => null, (e: unknown) => e);
    expect((err as SeerError).code).toBe('PROVIDER_UNAVAILABLE');
    expect((err as SeerError).message).toMatch(/re-import/);
    await fs.rm(dir, { recursive: true, force: true });
  }, TIMEOUT);

  it('the Python process dying mid-run: the request is redone on CPU, the report says so, later requests stay on CPU', async () => {
    const engine = await load(BUNDLE_DIR, 'torch', undefined, tmp);
    try {
      const session = (engine as unknown as { model: { session: TorchSession } }).model.session;
      process.kill(session.pid!, 'SIGKILL');
      const r = await engine.explain(PROMPTS[1]);
      expect(compare(r, await cpu.explain(PROMPTS[1]))).toBeLessThan(1e-5);
      expect(engine.info.provider.used).toBe('cpu');
      expect(engine.info.provider.fellBackToCpu).toMatch(/^torch failed during a forward pass \(the PyTorch process .* was killed/);
      expect(engine.info.provider.torch).toBeUndefined();
    } finally {
      await engine.dispose();
    }
  }, TIMEOUT);
});
