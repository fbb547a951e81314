// Generation with a live explanation and steering (engine/src/generate.ts, Engine.generate, `seer generate`) on a
// tiny format-2 bundle the trainer builds (trainerBundle.ts), calibrated here on a small labelled CSV so that its
// bank has prototypes: greedy tokens and per-token concept profiles against the trainer's PyTorch decoder, the
// steering input (zero = unsteered, bit for bit; added at the target layer), steering toward/away from a concept,
// seeded sampling, cancellation; then the CLI on that bundle and on models/default.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource, createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { EngineGenerationStep, EngineRequests } from '../../common/engineProtocol';
import { EngineClient } from '../../extension/src/engineClient';
import type { EngineErrorData, GenerationStepParams } from '../../common/protocol';
import { loadBundle } from '../../engine/src/bundle/index';
import { calibrateRequest } from '../../engine/src/calibration/requests';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import { type Generation, generate, type GenerateOptions, meanProbability, type StepModel, tokenChooser } from '../../engine/src/generate';
import { ModelSession } from '../../engine/src/runtime/modelSession';
import { createSession } from '../../engine/src/runtime/providers';
import { scoreLayer } from '../../engine/src/scores';
import { BUNDLE_DIR, readManifest, ROOT, runSeer } from './helpers';
import { buildCheckpoint, importBundles, reference, trainerMissing } from './trainerBundle';

const TIMEOUT = 300_000;
const PROMPT = 'how do I bake a cake';
const CONCEPT = 'cooking';

const skipReason = trainerMissing();
if (skipReason) console.warn(`skipping the generation tests on a trainer-built bundle: ${skipReason}`);

/** 3 concepts × 6 rows, as a user's labelled CSV (the columns `seer calibrate --text question --label topic` names). */
const LABELLED: Record<string, string[]> = {
  cooking: ['how long do I boil an egg', 'best way to roast garlic', 'a quick pasta sauce recipe', 'how to season a cast iron pan', 'why did my bread not rise', 'how much salt in soup'],
  weather: ['will it rain tomorrow', 'what causes thunderstorms', 'how cold is it tonight', 'is a heatwave coming', 'why is the sky cloudy', 'how strong is the wind'],
  finance: ['how do I open a savings account', 'what is compound interest', 'should I pay off my loan early', 'how do index funds work', 'what is a credit score', 'how to budget my salary'],
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe.skipIf(skipReason)('generation on a trainer-built format-2 bundle', () => {
  let tmp: string;
  let checkpoint: string;
  let dir: string;
  let engine: Engine;
  /** The residual stream's norm at the target layer for PROMPT: steering strengths are in its units. */
  let stateNorm: number;

  const run = (options: Partial<GenerateOptions> = {}) => engine.generate(PROMPT, { maxNewTokens: 10, ...options });

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-generate-'));
    checkpoint = buildCheckpoint(tmp);
    dir = path.join(tmp, 'bundle');
    importBundles(checkpoint, [{ out: dir }]);
    const data = path.join(tmp, 'labelled.csv');
    const lines = ['question,topic', ...Object.entries(LABELLED).flatMap(([topic, qs]) => qs.map((q) => `"${q}",${topic}`))];
    await fs.writeFile(data, `${lines.join('\n')}\n`);
    engine = await Engine.load({ bundleDir: dir, provider: 'cpu', intraOpThreads: 1, userBankDir: path.join(tmp, 'no-user-banks') });
    await calibrateRequest(engine, { path: data, textColumns: ['question'], labelColumn: 'topic', bankName: 'default', intoBundle: true }, new AbortController().signal, () => undefined);
    const [rep] = await engine.represent([PROMPT], { pooling: 'last' });
    stateNorm = Math.hypot(...rep.layers[engine.bundle.manifest.targetLayers[0]]);
  }, TIMEOUT);
  afterAll(async () => {
    await engine?.dispose();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('greedy: each token is the PyTorch decoder\'s argmax for the text so far, each profile its target-layer state scored against the bank', async () => {
    const g = await run({ maxNewTokens: 6 });
    expect(g.steps).toHaveLength(6);
    expect(g.stopReason).toBe('max-new-tokens');
    expect(g.concepts).toEqual(['cooking', 'weather', 'finance']);
    const { manifest, tokenizer } = engine.bundle;
    const prompt = tokenizer.encodePrompt(PROMPT, 1e9, 'left').ids;
    const ids = g.steps.map((s) => s.id);
    const prefixes = ids.map((_, k) => [...prompt, ...ids.slice(0, k)]);
    const ref = reference(checkpoint, prefixes);
    const layer = manifest.targetLayers[0];
    const bank = engine.bundle.banks.get('default')!;
    g.steps.forEach((step, k) => {
      const logits = ref.lastLogits[k];
      expect(step.id).toBe(logits.indexOf(Math.max(...logits)));
      expect(step.token).toBe(tokenizer.tokenText(step.id));
      const T = prefixes[k].length;
      const want = scoreLayer(layer, Float32Array.from(ref.hiddenStates[k][layer][T - 1]), bank.layers[layer].prototypes, manifest.logitScale);
      expect(maxAbsDiff(step.probs, want.probs)).toBeLessThan(1e-4);
      expect(step.concept).toBe(g.concepts[want.predicted]);
    });
    expect(g.text).toBe(tokenizer.decode(ids));
    // Greedy is deterministic.
    expect(await run({ maxNewTokens: 6 })).toEqual(g);
  }, TIMEOUT);

  it('the steering input: zeros give the unsteered model bit for bit; a vector at layer l moves layer l by exactly it', async () => {
    const bundle = await loadBundle(dir, { userBankDir: path.join(tmp, 'no-user-banks') });
    const model = await ModelSession.open(bundle, 'cpu', { intraOpThreads: 1 });
    try {
      const { numLayers, hiddenSize } = bundle.manifest.architecture;
      const ids = bundle.tokenizer.encodePrompt(PROMPT, 1e9, 'left').ids;
      const want = { positions: [ids.length - 1], logits: true };
      const plain = await model.forward([ids], bundle.tokenizer.padId, want);
      const zero = await model.forward([ids], bundle.tokenizer.padId, { ...want, steering: new Float32Array((numLayers + 1) * hiddenSize) });
      expect(zero.states).toEqual(plain.states);
      expect(zero.lastLogits).toEqual(plain.lastLogits);

      const layer = 1;
      const steering = new Float32Array((numLayers + 1) * hiddenSize);
      for (let h = 0; h < hiddenSize; h++) steering[layer * hiddenSize + h] = Math.sin(h + 1) * stateNorm;
      const steered = await model.forward([ids], bundle.tokenizer.padId, { ...want, steering });
      const at = (out: typeof plain, l: number) => out.states.subarray(l * hiddenSize, (l + 1) * hiddenSize);
      expect(at(steered, 0)).toEqual(at(plain, 0)); // before the steered layer: untouched
      const moved = Float32Array.from(at(plain, layer), (x, h) => x + steering[layer * hiddenSize + h]);
      expect(maxAbsDiff(at(steered, layer), moved)).toBeLessThan(1e-4 * stateNorm);
      expect(maxAbsDiff(steered.lastLogits!, plain.lastLogits!)).toBeGreaterThan(1e-3); // and carried on to the logits
    } finally {
      await model.release();
    }
  }, TIMEOUT);

  it('steering with strength 0 generates exactly what no steering does', async () => {
    expect(await run({ steer: [{ concept: CONCEPT, strength: 0 }] })).toEqual(await run());
  }, TIMEOUT);

  it('steering toward a concept raises its mean probability over the generated tokens, away lowers it', async () => {
    const strength = stateNorm; // as long as the state itself: a clear push, not a takeover
    const plain = await run();
    const toward = await run({ steer: [{ concept: CONCEPT, strength }] });
    const away = await run({ steer: [{ concept: CONCEPT, strength: -strength }] });
    const [p, up, down] = [plain, toward, away].map((g) => meanProbability(g, CONCEPT));
    expect(up).toBeGreaterThan(p + 0.05);
    expect(down).toBeLessThan(p - 0.05);
  }, TIMEOUT);

  it('seeded sampling is reproducible, and another seed writes another text', async () => {
    const sampled = (seed: number) => run({ temperature: 1, seed, maxNewTokens: 12 });
    const a = await sampled(7);
    expect(await sampled(7)).toEqual(a);
    expect((await sampled(8)).steps.map((s) => s.id)).not.toEqual(a.steps.map((s) => s.id));
    const greedy = await run({ maxNewTokens: 12 });
    // A nucleus of (nearly) nothing keeps only the most probable token: greedy, whatever the seed.
    expect((await run({ temperature: 1, topP: 1e-9, seed: 3, maxNewTokens: 12 })).steps).toEqual(greedy.steps);
  }, TIMEOUT);

  it('cancelled midway, keeps the tokens generated so far', async () => {
    const full = await run();
    const controller = new AbortController();
    const streamed: number[] = [];
    const cut = await engine.generate(PROMPT, { maxNewTokens: 10, signal: controller.signal }, (step, i) => {
      streamed.push(step.id);
      if (i === 2) controller.abort();
    });
    expect(cut.stopReason).toBe('cancelled');
    expect(cut.steps).toEqual(full.steps.slice(0, 3));
    expect(streamed).toEqual(cut.steps.map((s) => s.id));
    expect(cut.text).toBe(engine.bundle.tokenizer.decode(streamed));
  }, TIMEOUT);

  it('refuses a concept not in the bank (listing them), a strength that is not a finite number, bad sampling options', async () => {
    const refused = async (options: Partial<GenerateOptions>, pattern: RegExp) => {
      const err = await run(options).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SeerError);
      expect((err as SeerError).message).toMatch(pattern);
    };
    await refused({ steer: [{ concept: 'baking', strength: 2 }] }, /no such concept \(it has cooking, weather, finance\)/);
    await refused({ steer: [{ concept: CONCEPT, strength: Number.NaN }] }, /strength for "cooking" is NaN; it must be a finite number/);
    await refused({ maxNewTokens: 0 }, /maxNewTokens is 0/);
    await refused({ temperature: -1 }, /temperature is -1/);
    await refused({ topP: 0 }, /topP is 0/);
    await refused({ seed: 1.5 }, /seed is 1.5/);
  }, TIMEOUT);

  describe('seer generate', () => {
    beforeAll(() => {
      if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
    });
    const seer = (args: string[]) => runSeer(['generate', ...args, '--bundle', dir, '--provider', 'cpu'], { timeoutMs: TIMEOUT });

    it('--json: text, concepts and a step per token, as Engine.generate makes them; --steer adds "steered"', async () => {
      const r = seer([PROMPT, '--max-new-tokens', '5', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(Object.keys(json)).toEqual(['text', 'concepts', 'steps']);
      // The same generation (its profiles up to the rounding of another thread count: the CLI's own).
      const want: Generation = await run({ maxNewTokens: 5 });
      expect(json.text).toBe(want.text);
      expect(json.concepts).toEqual(want.concepts);
      expect(json.steps.map(({ probs, ...s }: { probs: number[] }) => s)).toEqual(want.steps.map(({ probs, ...s }) => s));
      json.steps.forEach((s: { probs: number[] }, k: number) => expect(maxAbsDiff(s.probs, want.steps[k].probs)).toBeLessThan(1e-5));

      const s = seer([PROMPT, '--max-new-tokens', '5', '--steer', `${CONCEPT}:${-stateNorm}`, '--json']);
      expect(s.code).toBe(0);
      const steered = JSON.parse(s.stdout);
      expect(Object.keys(steered)).toEqual(['text', 'concepts', 'steps', 'steered']);
      expect(steered.steered.concepts).toEqual(want.concepts);
      expect(meanProbability(steered.steered, CONCEPT)).toBeLessThan(meanProbability(steered, CONCEPT));
    }, TIMEOUT);

    it('prints each token with its concept, the plain and steered runs side by side', () => {
      const r = seer([PROMPT, '--max-new-tokens', '4', '--steer', `${CONCEPT}:3`, '--steer', 'finance:-1']);
      expect(r.code).toBe(0);
      const rows = r.stdout.split('\n').filter((l) => /^\s+\d+ {2}/.test(l));
      expect(rows).toHaveLength(4);
      for (const row of rows) expect(row).toMatch(/^\s+\d+ {2}".*" +(cooking|weather|finance) +\d+\.\d%.*│ ".*" +(cooking|weather|finance) +\d+\.\d%/);
      expect(r.stdout).toMatch(/^plain: ".*" {2}\(\d+ tokens, stopped: /m);
      expect(r.stdout).toMatch(/^steered: ".*"/m);
      expect(r.stdout).toMatch(/cooking +\d+\.\d% → \d+\.\d% +\(steered \+3\)/);
      expect(r.stdout).toMatch(/finance +\d+\.\d% → \d+\.\d% +\(steered -1\)/);
    }, TIMEOUT);

    it('bad --steer, numbers and concepts: a clear error and a fix, no stack trace', () => {
      const cases: Array<[string[], RegExp]> = [
        [['--steer', 'baking:2'], /no such concept \(it has cooking, weather, finance\)/],
        [['--steer', 'cooking:strong'], /the strength "strong" is not a finite number/],
        [['--steer', 'cooking'], /--steer "cooking" is not CONCEPT:STRENGTH/],
        [['--temperature', 'hot'], /--temperature must be a number, got "hot"/],
        [['--top-p', '2'], /--top-p is 2; it must be a number in \(0, 1\]/],
        [['--seed=-1'], /--seed is -1; it must be an integer from 0 to 4294967295/],
        [['--temperature=-0.5'], /--temperature is -0.5; it must be a number ≥ 0/],
        [['--max-new-tokens', '0'], /--max-new-tokens must be a positive integer/],
      ];
      for (const [args, pattern] of cases) {
        const r = seer([PROMPT, ...args]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr).toContain('fix: ');
        expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
      }
    }, TIMEOUT);
  });

  describe('the KV cache (onnx.kvCache: imports have it) against a re-run prefix (a bundle without it)', () => {
    let uncachedDir: string;

    beforeAll(async () => {
      uncachedDir = path.join(tmp, 'bundle-without-cache');
      importBundles(checkpoint, [{ out: uncachedDir, kvCache: false }]);
      const other = await Engine.load({ bundleDir: uncachedDir, provider: 'cpu', intraOpThreads: 1, userBankDir: path.join(tmp, 'no-user-banks') });
      try { // the same bank as the cached bundle's: the same labelled rows through the same weights
        await calibrateRequest(other, { path: path.join(tmp, 'labelled.csv'), textColumns: ['question'], labelColumn: 'topic', bankName: 'default', intoBundle: true }, new AbortController().signal, () => undefined);
      } finally {
        await other.dispose();
      }
    }, TIMEOUT);

    it('a cached sequence runs only each new token and gives the re-run prefix\'s states and logits, steered', async () => {
      const open = async (bundleDir: string) => {
        const bundle = await loadBundle(bundleDir, { userBankDir: path.join(tmp, 'no-user-banks') });
        return { bundle, model: await ModelSession.open(bundle, 'cpu', { intraOpThreads: 1 }) };
      };
      const cached = await open(dir);
      const uncached = await open(uncachedDir);
      try {
        const { manifest, tokenizer } = cached.bundle;
        const { numLayers, hiddenSize } = manifest.architecture;
        expect(manifest.onnx.kvCache).toBeDefined();
        expect(uncached.bundle.manifest.onnx.kvCache).toBeUndefined();
        const steering = new Float32Array((numLayers + 1) * hiddenSize);
        for (let h = 0; h < hiddenSize; h++) steering[manifest.targetLayers[0] * hiddenSize + h] = Math.cos(h) * stateNorm;
        const a = cached.model.sequence(tokenizer.padId, steering);
        const b = uncached.model.sequence(tokenizer.padId, steering);
        const ids = tokenizer.encodePrompt(PROMPT, 1e9, 'left').ids;
        const prompt = ids.length;
        for (let k = 0; k < 6; k++) {
          const [x, y] = [await a.forward(ids), await b.forward(ids)];
          expect([x.seq, y.seq]).toEqual([k === 0 ? prompt : 1, ids.length]); // the tokens each forward ran
          expect(x.positions).toEqual([ids.length - 1]);
          expect(maxAbsDiff(x.states, y.states)).toBeLessThan(1e-5 * stateNorm);
          const scale = Math.max(...Array.from(y.lastLogits!, Math.abs));
          expect(maxAbsDiff(x.lastLogits!, y.lastLogits!)).toBeLessThan(1e-5 * scale);
          const logits = Array.from(x.lastLogits!);
          ids.push(logits.indexOf(Math.max(...logits)));
        }
        await Promise.all([a.release(), b.release()]);
      } finally {
        await Promise.all([cached.model.release(), uncached.model.release()]);
      }
    }, TIMEOUT);

    it('a GPU failing mid-generation: the cache went with it, so the sequence starts over on CPU, then caches again', async () => {
      const bundle = await loadBundle(dir, { userBankDir: path.join(tmp, 'no-user-banks') });
      const real = await createSession(await fs.readFile(bundle.modelFile), 'cpu', {});
      let runs = 0;
      const flaky = { // the real session, except that its second run fails as a lost GPU does
        ...real,
        run: (...args: Parameters<typeof real.run>) => (++runs === 2 ? Promise.reject(new Error('device lost')) : real.run(...args)),
        forget: (id: number) => real.forget!(id),
        release: () => real.release(),
      };
      const model = ModelSession.wrap(flaky, { used: 'webgpu', requested: 'webgpu', attempts: [] }, bundle.manifest, () => fs.readFile(bundle.modelFile));
      const plain = await ModelSession.open(bundle, 'cpu', {});
      try {
        const sequence = model.sequence(bundle.tokenizer.padId);
        const ids = bundle.tokenizer.encodePrompt(PROMPT, 1e9, 'left').ids;
        const seqs: number[] = [];
        for (let k = 0; k < 4; k++) {
          const out = await sequence.forward(ids);
          const want = await plain.forward([ids], bundle.tokenizer.padId, { positions: [ids.length - 1], logits: true });
          expect(maxAbsDiff(out.lastLogits!, want.lastLogits!)).toBeLessThan(1e-5 * Math.max(...Array.from(want.lastLogits!, Math.abs)));
          seqs.push(out.seq);
          ids.push(k + 5);
        }
        expect(model.report.fellBackToCpu).toContain('device lost');
        const prompt = ids.length - 4;
        expect(seqs).toEqual([prompt, prompt + 1, 1, 1]); // step 2 re-ran its whole prefix on the new session
        await sequence.release();
      } finally {
        await Promise.all([model.release(), plain.release()]);
      }
    }, TIMEOUT);

    it('seer generate writes the same tokens and step profiles with the cache as without, plain and steered', () => {
      const generated = (bundleDir: string) => {
        const r = runSeer(['generate', PROMPT, '--max-new-tokens', '8', '--steer', `${CONCEPT}:${-stateNorm}`, '--json', '--bundle', bundleDir, '--provider', 'cpu'], { timeoutMs: TIMEOUT });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        return JSON.parse(r.stdout) as Generation & { steered: Generation };
      };
      const [withCache, without] = [generated(dir), generated(uncachedDir)];
      for (const [x, y] of [[withCache, without], [withCache.steered, without.steered]]) {
        expect(x.text).toBe(y.text);
        expect(x.steps.map(({ probs, ...step }) => step)).toEqual(y.steps.map(({ probs, ...step }) => step));
        x.steps.forEach((step, k) => expect(maxAbsDiff(step.probs, y.steps[k].probs)).toBeLessThan(1e-5));
      }
      expect(maxAbsDiff(withCache.steered.steps[0].probs, withCache.steps[0].probs)).toBeGreaterThan(1e-3); // steering took effect
    }, TIMEOUT);
  });

  describe('seer/generate (the engine server, as the extension calls it)', () => {
    const server = path.join(ROOT, 'dist', 'engine-server.js');
    const child = () => spawn(process.execPath, [server], { stdio: ['pipe', 'pipe', 'ignore'] });
    let proc: ReturnType<typeof child>;
    let rpc: ReturnType<typeof createMessageConnection>;

    beforeAll(async () => {
      if (!existsSync(server)) throw new Error(`${server} is missing: run \`npm run build\` first.`);
      proc = child();
      rpc = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
      rpc.listen();
      await rpc.sendRequest(EngineRequests.load, { bundleDir: dir, provider: 'cpu', userBankDir: path.join(tmp, 'no-user-banks') });
    }, TIMEOUT);
    afterAll(() => {
      rpc?.dispose();
      proc?.kill();
    });

    it('streams a step notification per token, and answers the whole generation', async () => {
      const steps: GenerationStepParams[] = [];
      const sub = rpc.onNotification(EngineGenerationStep, (p) => steps.push(p));
      const g = await rpc.sendRequest(EngineRequests.generate, { text: PROMPT, maxNewTokens: 5, progressToken: 'gen-1' });
      sub.dispose();
      expect(g.stopReason).toBe('max-new-tokens');
      expect(steps).toEqual(g.steps.map((step, index) => ({ token: 'gen-1', index, step })));
      expect(g.steps.map((s) => s.id)).toEqual((await run({ maxNewTokens: 5 })).steps.map((s) => s.id));
    }, TIMEOUT);

    it('cancelled, answers with the steps so far (not an error)', async () => {
      const source = new CancellationTokenSource();
      let seen = 0;
      const sub = rpc.onNotification(EngineGenerationStep, () => {
        if (++seen === 2) source.cancel();
      });
      const g = await rpc.sendRequest(EngineRequests.generate, { text: PROMPT, maxNewTokens: 1000, progressToken: 'gen-2' }, source.token);
      sub.dispose();
      expect(g.stopReason).toBe('cancelled');
      expect(g.steps.length).toBeGreaterThanOrEqual(2);
      expect(g.steps.length).toBeLessThan(1000);
    }, TIMEOUT);

    it('through the extension\'s EngineClient: tokens by onGenerationStep, Stop keeps the tokens so far', async () => {
      const steps: GenerationStepParams[] = [];
      const client = new EngineClient({
        serverPath: server,
        config: () => ({ bundleDir: dir, provider: 'cpu', userBankDir: path.join(tmp, 'no-user-banks') }),
        requestTimeoutMs: TIMEOUT,
        log: () => undefined,
        onGenerationStep: (p) => steps.push(p),
      });
      try {
        const source = new CancellationTokenSource();
        const params = { text: PROMPT, maxNewTokens: 1000, progressToken: 'panel-1', steer: [{ concept: CONCEPT, strength: -stateNorm }] };
        const pending = client.request(EngineRequests.generate, params, source.token);
        while (steps.length < 3) await new Promise((r) => setTimeout(r, 5));
        source.cancel();
        const g = await pending;
        expect(g.stopReason).toBe('cancelled');
        expect(steps.slice(0, g.steps.length).map((p) => p.step)).toEqual(g.steps);
        expect(steps.every((p) => p.token === 'panel-1')).toBe(true);
      } finally {
        await client.dispose();
      }
    }, TIMEOUT);

    it('refuses bad params and an unknown concept with an editor-worded fix', async () => {
      const error = async (params: unknown) => {
        const e = await rpc.sendRequest('seer/generate', params).then(() => null, (err: unknown) => err);
        expect(e).toBeInstanceOf(ResponseError);
        return e as ResponseError<EngineErrorData>;
      };
      const bad = await error({ text: PROMPT, maxNewTokens: 3, steer: [{ concept: CONCEPT, strength: 'strong' }] });
      expect(bad.data?.code).toBe('INVALID_ARGUMENT');
      expect(bad.message).toContain('params.steer[0].strength');
      const unknown = await error({ text: PROMPT, maxNewTokens: 3, steer: [{ concept: 'baking', strength: 1 }] });
      expect(unknown.message).toContain('(it has cooking, weather, finance)');
      expect(unknown.data?.fix).toContain('seer.bank');
      expect(unknown.data?.fix).not.toMatch(/--[a-z]/);
    }, TIMEOUT);
  });
});

describe('generate: the sampler and the stopping rules', () => {
  it('samples in proportion to softmax(logits / T), reproducibly per seed', () => {
    const logits = Float32Array.from([0, Math.log(3), -50]);
    const draw = tokenChooser(1, 1, 42);
    const counts = [0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[draw(logits)]++;
    expect(counts[1] / 4000).toBeGreaterThan(0.72);
    expect(counts[1] / 4000).toBeLessThan(0.78);
    expect(counts[2]).toBe(0);
    const again = tokenChooser(1, 1, 42);
    const first = tokenChooser(1, 1, 42);
    expect(Array.from({ length: 50 }, () => again(logits))).toEqual(Array.from({ length: 50 }, () => first(logits)));
    // topP 0.5: only the most probable token (0.75 ≥ 0.5) is in the nucleus.
    const nucleus = tokenChooser(1, 0.5, 1);
    expect(new Set(Array.from({ length: 200 }, () => nucleus(logits)))).toEqual(new Set([1]));
  });

  it('stops at the eos (not included) and when the context is full', async () => {
    const bank = { name: 'b', concepts: ['a', 'b'], layers: [{ prototypes: [Float32Array.of(1, 0), Float32Array.of(0, 1)] }] } as never;
    const reader = { bank, layer: 0, logitScale: 10 };
    /** A model that writes token 1, 2, 3, … (the id = the prefix's length) and reads [1, 0] (concept a). */
    const counting = (eosId: number, maxContext: number): StepModel => ({
      eosId,
      maxContext,
      tokenText: (id) => `t${id}`,
      decode: (ids) => ids.map((id) => `t${id}`).join(''),
      next: async (ids) => ({ logits: Float32Array.from({ length: 16 }, (_, i) => (i === ids.length ? 1 : 0)), state: Float32Array.of(1, 0) }),
    });
    const eos = await generate(counting(4, 100), reader, [0, 0], { maxNewTokens: 10 });
    expect(eos.steps.map((s) => s.id)).toEqual([2, 3]);
    expect(eos.stopReason).toBe('eos');
    expect(eos.text).toBe('t2t3');
    expect(eos.steps[0].concept).toBe('a');
    const full = await generate(counting(15, 5), reader, [0, 0], { maxNewTokens: 10 });
    expect(full.steps.map((s) => s.id)).toEqual([2, 3, 4]);
    expect(full.stopReason).toBe('context');
  });
});

/** models/default (rebuilt in format 2 by `npm run build:model`): the CLI as users first meet it. */
const defaultIsFormat2 = readManifest(BUNDLE_DIR).formatVersion === 2;
if (!defaultIsFormat2) console.warn(`skipping seer generate on ${BUNDLE_DIR}: it is not format 2 yet (rebuild it with \`npm run build:model\`)`);

describe.skipIf(!defaultIsFormat2)('seer generate on the default bundle', () => {
  const seer = (args: string[]) => runSeer(['generate', ...args, '--bundle', BUNDLE_DIR, '--provider', 'cpu']);
  const concepts: string[] = readManifest(BUNDLE_DIR).concepts;
  /** The target layer's state norm for the steering prompt: strengths are in the residual stream's units. */
  let stateNorm: number;
  const STEERED_PROMPT = 'Tell me something.';

  beforeAll(async () => {
    const engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu' });
    try {
      const [rep] = await engine.represent([STEERED_PROMPT], { pooling: 'last' });
      stateNorm = Math.hypot(...rep.layers[engine.bundle.manifest.targetLayers[0]]);
    } finally {
      await engine.dispose();
    }
  }, TIMEOUT);

  it('greedy --json is deterministic, one profile over the bank\'s concepts per token', () => {
    const r = seer(['How do I chop an onion?', '--max-new-tokens', '8', '--json']);
    expect(r.code).toBe(0);
    const g = JSON.parse(r.stdout);
    expect(g.concepts).toEqual(concepts);
    expect(g.steps.length).toBeGreaterThan(0);
    expect(g.steps.length).toBeLessThanOrEqual(8);
    for (const s of g.steps) {
      expect(s.probs).toHaveLength(concepts.length);
      expect(s.probs.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
      expect(s.concept).toBe(concepts[s.probs.indexOf(Math.max(...s.probs))]);
    }
    expect(JSON.parse(seer(['How do I chop an onion?', '--max-new-tokens', '8', '--json']).stdout)).toEqual(g);
  });

  it('--steer toward and away from a concept moves its mean probability over the generated tokens', () => {
    const concept = concepts.includes('cooking') ? 'cooking' : concepts[0];
    const meanOf = (strength: number) => {
      const r = seer([STEERED_PROMPT, '--max-new-tokens', '12', '--steer', `${concept}:${strength}`, '--json']);
      expect(r.code).toBe(0);
      const g = JSON.parse(r.stdout);
      return { plain: meanProbability(g, concept), steered: meanProbability(g.steered, concept) };
    };
    const toward = meanOf(stateNorm);
    const away = meanOf(-stateNorm);
    expect(toward.steered).toBeGreaterThan(toward.plain);
    expect(away.steered).toBeLessThan(away.plain);
  });

  it('a prompt longer than the context keeps its end and leaves room for the new tokens', () => {
    const words = Array.from({ length: 3000 }, (_, i) => ['bread', 'river', 'code', 'storm'][i % 4]).join(' ');
    const r = seer([`${words} how do I bake bread?`, '--max-new-tokens', '6', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).steps).toHaveLength(6);
  });

  it('a concept not in the bank is refused with the list', () => {
    const r = seer(['hi', '--steer', 'not-a-concept:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`(it has ${concepts.join(', ')})`);
  });
});
