// Hostile bundles (issue 14): each bundle file replaced by a link out of the bundle, a link to /dev/zero, a
// FIFO, a device, a folder or a sparse 100 GB file; crafted JSON (deep nesting, reserved names, float32
// overflow, another file's contents); an ONNX model whose tensors point outside its file, or outside the one
// external data file seer.json declares, or past its end. Each must fail within seconds, with bounded memory,
// as one bundle error naming the file and quoting nothing it read.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMessageConnection, type MessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { EngineRequests } from '../../common/engineProtocol';
import { errorCategory } from '../../common/errorCodes';
import type { EngineErrorData } from '../../common/protocol';
import { unpackFloats } from '../../engine/src/bundle/packedFloats';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import { externalDataEntries } from '../../engine/src/runtime/onnxProto';
import { LIMITS } from '../../engine/src/limits';
import { BUNDLE_DIR, editJson, readManifest, ROOT } from './helpers';

const SECRET = 'root:x:0:0:SECRET-OUTSIDE-THE-BUNDLE';
const SECONDS = 5_000;
const MB = 2 ** 20;
/** Generous: refusing a file must not read it, so memory barely moves. */
const RSS_BOUND = 300 * MB;
const manifest = readManifest();
const FILES = [
  ['seer.json', 'seer.json'],
  ['model.onnx', manifest.files.model],
  ['tokenizer.json', manifest.files.tokenizer],
  ['banks/default.json', manifest.banks[manifest.defaultBank]],
] as const;

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-hostile-'));
  await fs.writeFile(path.join(tmp, 'secret.txt'), `${SECRET}\n`);
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});
afterEach(async () => {
  for (const name of await fs.readdir(tmp)) if (name.startsWith('bundle-')) await fs.rm(path.join(tmp, name), { recursive: true, force: true });
});

let copies = 0;
/** A copy of the files the engine reads (not model.pt), in its own folder under `tmp`. */
async function copyBundle(): Promise<string> {
  const dir = path.join(tmp, `bundle-${++copies}`);
  await fs.mkdir(path.join(dir, 'banks'), { recursive: true });
  const externalData: string[] = manifest.onnx.externalData ? [manifest.onnx.externalData.file] : [];
  for (const rel of ['seer.json', manifest.files.model, ...externalData, manifest.files.tokenizer, ...Object.values<string>(manifest.banks)]) {
    await fs.copyFile(path.join(BUNDLE_DIR, rel), path.join(dir, rel));
  }
  return dir;
}

const canMakeFifo = process.platform !== 'win32' && spawnSync('mkfifo', ['--version']).status === 0;
/** mknod needs root (and a filesystem that allows devices): tried once, in the temp folder. */
function canMakeDevice(): boolean {
  if (process.platform === 'win32') return false;
  const probe = path.join(os.tmpdir(), `seer-mknod-probe-${process.pid}`);
  const ok = spawnSync('mknod', [probe, 'c', '1', '5']).status === 0;
  rmSync(probe, { force: true });
  return ok;
}

type Make = (target: string) => Promise<unknown> | unknown;
const HOSTILE: Array<[string, Make, string | false]> = [
  ['a symlink to a file outside the bundle', (t) => fs.symlink(path.join(tmp, 'secret.txt'), t), false],
  ['a symlink to /dev/zero', (t) => fs.symlink('/dev/zero', t), process.platform === 'win32' && 'no /dev/zero'],
  ['a symlink to /dev/urandom', (t) => fs.symlink('/dev/urandom', t), process.platform === 'win32' && 'no /dev/urandom'],
  ['a FIFO', (t) => execFileSync('mkfifo', [t]), !canMakeFifo && 'mkfifo is not available'],
  ['a character device (mknod c 1 5, /dev/zero)', (t) => execFileSync('mknod', [t, 'c', '1', '5']), !canMakeDevice() && 'mknod is not permitted here'],
  ['a folder', (t) => fs.mkdir(t), false],
  ['a sparse 100 GB file', (t) => fs.writeFile(t, '').then(() => fs.truncate(t, 100 * 2 ** 30)), false],
];

async function loadError(dir: string): Promise<SeerError> {
  const err = await Engine.load({ bundleDir: dir, provider: 'cpu', userBankDir: path.join(tmp, 'no-user-banks') }).then(
    async (e) => {
      await e.dispose();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SeerError);
  return err as SeerError;
}

/** A load that fails the way every hostile bundle must: fast, bounded, a bundle error, nothing quoted. */
async function expectRefused(dir: string, file: string): Promise<SeerError> {
  const rss = process.memoryUsage().rss;
  const started = Date.now();
  const e = await loadError(dir);
  expect(Date.now() - started).toBeLessThan(SECONDS);
  expect(process.memoryUsage().rss - rss).toBeLessThan(RSS_BOUND);
  expect(errorCategory(e.code)).toBe('bundle');
  expect(e.message).toContain(path.basename(file));
  expect(e.file).toContain(path.basename(file));
  expect(e.fix).toBeTruthy();
  expect(`${e.message} ${e.fixFor('cli')} ${e.fixFor('editor')}`).not.toMatch(/SECRET|root:x/);
  return e;
}

describe('a hostile file in place of a bundle file', () => {
  it('(the copy itself loads: what fails below is the hostile file)', async () => {
    const engine = await Engine.load({ bundleDir: await copyBundle(), provider: 'cpu', userBankDir: path.join(tmp, 'no-user-banks') });
    await engine.dispose();
  });

  describe.each(FILES)('%s', (_name, rel) => {
    it.each(HOSTILE)('replaced by %s is refused without reading it', async (what, make, skip) => {
      if (skip) return void console.warn(`skipped "${what}": ${skip}`);
      const dir = await copyBundle();
      const target = path.join(dir, rel);
      await fs.rm(target);
      await make(target);
      const e = await expectRefused(dir, target);
      expect(e.code).toBe('BUNDLE_INVALID');
      expect(e.message).toMatch(/outside the bundle|not a regular file|too large/);
    });
  });

  it('a symlink to another file inside the bundle is followed', async () => {
    const dir = await copyBundle();
    const tokenizer = path.join(dir, manifest.files.tokenizer);
    await fs.mkdir(path.join(dir, 'shared'));
    await fs.rename(tokenizer, path.join(dir, 'shared', 'tok.json'));
    await fs.symlink(path.join('shared', 'tok.json'), tokenizer);
    const engine = await Engine.load({ bundleDir: dir, provider: 'cpu', userBankDir: path.join(tmp, 'no-user-banks') });
    await engine.dispose();
  });

  it('a file named through ".." in seer.json is refused before it is opened', async () => {
    const dir = await copyBundle();
    await editJson(path.join(dir, 'seer.json'), (m) => void (m.files.tokenizer = '../secret.txt'));
    const e = await loadError(dir);
    expect(e.code).toBe('BUNDLE_INVALID');
    expect(e.message).toContain('outside the bundle');
    expect(e.message).not.toContain(SECRET);
  });
});

describe('crafted JSON', () => {
  it('a tokenizer.json holding another file\'s text is reported by position, not quoted', async () => {
    const dir = await copyBundle();
    const file = path.join(dir, manifest.files.tokenizer);
    await fs.writeFile(file, `${SECRET}\nbin:x:1:1:bin:/bin:/usr/sbin/nologin\n`);
    const e = await expectRefused(dir, file);
    expect(e.code).toBe('TOKENIZER_INVALID');
    expect(e.message).toMatch(/not valid JSON.*line 1, column 1/);
  });

  it('a JSON syntax error is located by line and column', async () => {
    const dir = await copyBundle();
    const file = path.join(dir, 'seer.json');
    await fs.writeFile(file, `{\n  "format": "seer-bundle",\n  "name": ${SECRET}\n}`);
    const e = await expectRefused(dir, file);
    expect(e.message).toMatch(/line 3/);
  });

  it('a deeply nested tokenizer.json is a clear tokenizer error, not a stack overflow', async () => {
    const dir = await copyBundle();
    const file = path.join(dir, manifest.files.tokenizer);
    const tok = JSON.parse(await fs.readFile(file, 'utf8'));
    tok.pre_tokenizer = { type: 'Sequence', pretokenizers: 'DEEP' };
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    await fs.writeFile(file, JSON.stringify(tok).replace('"DEEP"', deep));
    const e = await expectRefused(dir, file);
    expect(e.code).toBe('TOKENIZER_INVALID');
    expect(e.message).toMatch(/nests more than \d+ levels/);
  });

  it.each([
    ['defaultBank "__proto__"', (m: any) => void (m.defaultBank = '__proto__'), 'defaultBank'],
    ['a bank named "__proto__"', (m: any) => void (m.banks = JSON.parse(`{"__proto__": "${m.banks[m.defaultBank]}"}`)), 'banks.__proto__'],
    ['defaultBank "constructor"', (m: any) => void (m.defaultBank = 'constructor'), 'defaultBank'],
    ['a vocabulary of 2^40 tokens', (m: any) => void (m.architecture.vocabSize = 2 ** 40), 'architecture.vocabSize'],
  ])('a manifest with %s is refused', async (_what, edit, field) => {
    const dir = await copyBundle();
    await editJson(path.join(dir, 'seer.json'), edit);
    const e = await expectRefused(dir, path.join(dir, 'seer.json'));
    expect(e.code).toBe('BUNDLE_INVALID');
    expect(e.message).toContain(`"${field}"`);
  });

  /** The committed bank (format 2: packed prototypes) rewritten as format 1 (arrays of decimals, still read). */
  const asFormat1 = (bank: any) => ({
    ...bank,
    formatVersion: 1,
    layers: bank.layers.map((l: any) => {
      const values = Array.from(unpackFloats(Buffer.from(l.prototypes.data, 'base64'), l.prototypes.encoding));
      return { ...l, prototypes: bank.concepts.map((_: string, j: number) => values.slice(j * bank.hiddenSize, (j + 1) * bank.hiddenSize)) };
    }),
  });

  it.each([
    ['1e39 (Infinity as float32)', 1e39, /outside the float32 range/],
    ['-1e39', -1e39, /outside the float32 range/],
    ['1e30 (finite, but not a unit vector)', 1e30, /must have length 1/],
  ])('a format-1 bank prototype value of %s is refused, naming the bank file and the concept', async (_what, value, problem) => {
    const dir = await copyBundle();
    const file = path.join(dir, manifest.banks[manifest.defaultBank]);
    const bank = asFormat1(JSON.parse(await fs.readFile(file, 'utf8')));
    bank.layers[3].prototypes[1][5] = value; // written as 1e+39: valid JSON, a finite double
    await fs.writeFile(file, JSON.stringify(bank));
    const e = await expectRefused(dir, file);
    expect(e.code).toBe('BANK_INVALID');
    expect(e.message).toContain('layers[3].prototypes[1]');
    expect(e.message).toContain(`concept "${bank.concepts[1]}"`);
    expect(e.message).toMatch(problem);
  });

  it.each([
    ['Infinity', Infinity, /value \d+ is Infinity, not a finite number/],
    ['NaN', NaN, /value \d+ is NaN, not a finite number/],
    ['1e30 (finite, but not a unit vector)', 1e30, /\(concept "[a-z_]+"\) must have length 1/],
  ])('a packed (format 2) bank prototype value of %s is refused, naming the bank file and the field', async (_what, value, problem) => {
    const dir = await copyBundle();
    const file = path.join(dir, manifest.banks[manifest.defaultBank]);
    const bank = JSON.parse(await fs.readFile(file, 'utf8'));
    const bytes = Buffer.from(bank.layers[3].prototypes.data, 'base64');
    bytes.writeFloatLE(value, (bank.hiddenSize + 5) * 4); // concept 1, component 5
    bank.layers[3].prototypes.data = bytes.toString('base64');
    await fs.writeFile(file, JSON.stringify(bank));
    const e = await expectRefused(dir, file);
    expect(e.code).toBe('BANK_INVALID');
    expect(e.message).toContain('layers[3].prototypes');
    expect(e.message).toMatch(problem);
  });

  it('a bank with more concepts than the limit is refused before its matrices are read', async () => {
    const dir = await copyBundle();
    const file = path.join(dir, manifest.banks[manifest.defaultBank]);
    const bank = JSON.parse(await fs.readFile(file, 'utf8'));
    bank.concepts = Array.from({ length: LIMITS.conceptsPerBank + 1 }, (_, i) => `c${i}`);
    bank.safeConcepts = null;
    await fs.writeFile(file, JSON.stringify(bank));
    const e = await expectRefused(dir, file);
    expect(e.code).toBe('BANK_INVALID');
    expect(e.message).toContain(`the limit is ${LIMITS.conceptsPerBank}`);
  });
});

const hasOnnx = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const CRAFT = path.join(__dirname, 'craftExternalData.py');
const craft = (...args: string[]) => execFileSync('/usr/bin/python3', [CRAFT, ...args], { encoding: 'utf8' }).trim();

/** Points seer.json and the bank at the bundle's current model.onnx (so that only what a test damages is wrong). */
async function resealModel(dir: string, edit: (m: any) => void = () => undefined): Promise<void> {
  const sha = sha256(await fs.readFile(path.join(dir, manifest.files.model)));
  await editJson(path.join(dir, 'seer.json'), (m) => {
    m.modelSha256 = sha;
    edit(m);
  });
  await editJson(path.join(dir, manifest.banks[manifest.defaultBank]), (b) => void (b.modelSha256 = sha));
}

/** A bundle whose model keeps one tensor at `location` (craftExternalData.py move), seer.json declaring no external data. */
async function bundleWithExternalData(location: string, where: 'initializer' | 'constant'): Promise<{ dir: string; model: string; data: Buffer; tensor: string }> {
  const dir = await copyBundle();
  const model = path.join(dir, manifest.files.model);
  const dataOut = path.join(tmp, `data-${copies}.bin`);
  const tensor = craft('move', path.join(BUNDLE_DIR, manifest.files.model), model, location, where, dataOut);
  const data = await fs.readFile(dataOut);
  await fs.rm(dataOut);
  await resealModel(dir);
  return { dir, model, data, tensor };
}

/** A bundle as format 2 writes a big model: every weight in model.onnx.data, declared in seer.json's onnx.externalData. */
async function externalDataBundle(): Promise<{ dir: string; model: string; data: string }> {
  const dir = await copyBundle();
  const { bytes, sha256: sha } = JSON.parse(craft('externalize', path.join(BUNDLE_DIR, manifest.files.model), dir));
  await resealModel(dir, (m) => void (m.onnx.externalData = { file: 'model.onnx.data', bytes, sha256: sha }));
  return { dir, model: path.join(dir, manifest.files.model), data: path.join(dir, 'model.onnx.data') };
}

describe.skipIf(!hasOnnx)('an ONNX model with external data (needs /usr/bin/python3 with onnx)', () => {
  it('pointing at secret.bin in the working folder, undeclared in seer.json, is refused before onnxruntime sees it', async () => {
    const { dir, model, data, tensor } = await bundleWithExternalData('secret.bin', 'initializer');
    const cwd = await fs.mkdtemp(path.join(tmp, 'bundle-cwd-'));
    await fs.writeFile(path.join(cwd, 'secret.bin'), data);
    const previous = process.cwd();
    process.chdir(cwd);
    try {
      // The hazard: from bytes, onnxruntime reads secret.bin from the working folder and the model loads.
      const bytes = await fs.readFile(model);
      expect(externalDataEntries(bytes)).toEqual([{ tensor, location: 'secret.bin', offset: '0', length: String(data.length) }]);
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], logSeverityLevel: 3 });
      await session.release();
      // The engine refuses the model instead.
      const e = await expectRefused(dir, model);
      expect(e.code).toBe('MODEL_INVALID');
      expect(e.message).toContain('external data');
      expect(e.message).toContain(tensor);
      expect(e.message).toContain('seer.json\'s onnx has no externalData');
    } finally {
      process.chdir(previous);
    }
  });

  it.each([
    ['../x', 'initializer'],
    ['/etc/passwd', 'initializer'],
    ['secret.bin', 'constant'],
  ] as const)('pointing at %s (%s) is refused', async (location, where) => {
    const { dir, model } = await bundleWithExternalData(location, where);
    const e = await expectRefused(dir, model);
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('external data');
  });

  it('declared in seer.json (one model.onnx.data beside the model): loads from the bundle folder, whatever the working folder, and gives the same results', async () => {
    const { dir } = await externalDataBundle();
    const cwd = await fs.mkdtemp(path.join(tmp, 'bundle-cwd-'));
    const previous = process.cwd();
    process.chdir(cwd); // nothing there: onnxruntime must not look in the working folder
    const opts = { tokenLayers: 'all' as const };
    try {
      const external = await Engine.load({ bundleDir: dir, provider: 'cpu', userBankDir: path.join(tmp, 'no-user-banks') });
      const inline = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu', userBankDir: path.join(tmp, 'no-user-banks') });
      try {
        const [a, b] = [await external.explain('how do I bake bread', opts), await inline.explain('how do I bake bread', opts)];
        expect(a.layers.map((l) => l.cosine)).toEqual(b.layers.map((l) => l.cosine));
        expect(a.tokenScores).toEqual(b.tokenScores);
        expect(a.nextTokens).toEqual(b.nextTokens);
      } finally {
        await external.dispose();
        await inline.dispose();
      }
    } finally {
      process.chdir(previous);
    }
  });

  it.each([
    ['a tensor located in ../model.onnx.data (a copy outside the bundle)', ['location=../model.onnx.data'], /at "\.\.\/model\.onnx\.data", not in model\.onnx\.data/],
    ['a tensor located in another file of the bundle', ['location=tokenizer.json'], /at "tokenizer\.json", not in model\.onnx\.data/],
    ['a tensor past the end of model.onnx.data', ['offset=99999999999'], /offset "99999999999".*not within its \d+ bytes/],
    ['a tensor with a negative offset', ['offset=-8'], /offset "-8".*not within/],
    ['a tensor without a length', ['length='], /length "".*not within/],
  ])('%s is refused', async (_what, edits, problem) => {
    const { dir, model, data } = await externalDataBundle();
    await fs.copyFile(data, path.join(path.dirname(dir), 'model.onnx.data')); // what "../" would reach
    craft('edit', model, model, ...edits);
    await resealModel(dir);
    const e = await expectRefused(dir, model);
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toMatch(problem);
    await fs.rm(path.join(path.dirname(dir), 'model.onnx.data'));
  });

  it.each([
    ['is shorter than seer.json says', (f: string) => fs.truncate(f, 1000), 'MODEL_INVALID', /is 1000 bytes, but seer\.json's onnx\.externalData\.bytes says/],
    ['has one byte changed', async (f: string) => {
      const bytes = await fs.readFile(f);
      bytes[bytes.length >> 1] ^= 1;
      await fs.writeFile(f, bytes);
    }, 'MODEL_INVALID', /does not match seer\.json's onnx\.externalData\.sha256/],
    ['is missing', (f: string) => fs.rm(f), 'BUNDLE_INVALID', /Missing model\.onnx\.data/],
    ['is a symlink to a file outside the bundle', async (f: string) => {
      await fs.copyFile(f, path.join(tmp, 'outside.data'));
      await fs.rm(f);
      await fs.symlink(path.join(tmp, 'outside.data'), f);
    }, 'BUNDLE_INVALID', /outside the bundle/],
    ['is a symlink to /dev/zero', async (f: string) => {
      await fs.rm(f);
      await fs.symlink('/dev/zero', f);
    }, 'BUNDLE_INVALID', /outside the bundle/],
    ['is a folder', async (f: string) => {
      await fs.rm(f);
      await fs.mkdir(f);
    }, 'BUNDLE_INVALID', /is a folder, not a regular file/],
    ['is a sparse 100 GB file', (f: string) => fs.truncate(f, 100 * 2 ** 30), 'BUNDLE_INVALID', /too large/],
  ] as const)('model.onnx.data that %s is refused', async (_what, damage, code, problem) => {
    const { dir, data } = await externalDataBundle();
    await damage(data);
    const e = await expectRefused(dir, data);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(problem);
  });

  it('the bundle under test keeps its weights in model.onnx, or only in the external data file it declares', async () => {
    const entries = externalDataEntries(await fs.readFile(path.join(BUNDLE_DIR, manifest.files.model)));
    const declared = manifest.onnx.externalData?.file;
    expect(entries.filter((e) => e.location !== declared)).toEqual([]);
  });
});

describe('through the engine server process', () => {
  const SERVER = path.join(ROOT, 'dist', 'engine-server.js');
  let child: ChildProcess;
  let rpc: MessageConnection;

  beforeAll(() => {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first.`);
    child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'ignore'] });
    rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    rpc.listen();
  });
  afterAll(() => {
    rpc?.dispose();
    if (child && child.exitCode === null) child.kill();
  });

  async function loadRefused(dir: string, file: string): Promise<EngineErrorData> {
    const started = Date.now();
    const err = await rpc.sendRequest(EngineRequests.load, { bundleDir: dir, provider: 'cpu' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(SECONDS);
    expect(err).toBeInstanceOf(ResponseError);
    const e = err as ResponseError<EngineErrorData>;
    expect(errorCategory(e.data!.code)).toBe('bundle');
    expect(e.data!.file).toContain(path.basename(file));
    expect(`${e.message} ${e.data!.fix}`).not.toMatch(/SECRET|root:x/);
    return e.data!;
  }

  it.each([
    ['model.onnx', 'a symlink to /dev/zero', (t: string) => fs.symlink('/dev/zero', t)],
    ['model.onnx', 'a sparse 100 GB file', (t: string) => fs.writeFile(t, '').then(() => fs.truncate(t, 100 * 2 ** 30))],
    ['tokenizer.json', 'a symlink to a file outside the bundle', (t: string) => fs.symlink(path.join(tmp, 'secret.txt'), t)],
  ] as const)('%s replaced by %s: a bundle error at once, and the server still loads a good bundle after', async (name, _what, make) => {
    const dir = await copyBundle();
    const target = path.join(dir, name === 'model.onnx' ? manifest.files.model : manifest.files.tokenizer);
    await fs.rm(target);
    await make(target);
    const data = await loadRefused(dir, target);
    expect(data.code).toBe('BUNDLE_INVALID');
    const info = await rpc.sendRequest(EngineRequests.load, { bundleDir: BUNDLE_DIR, provider: 'cpu', intraOpThreads: 1 });
    expect(info.bundle.name).toBe(manifest.name);
    // Peak memory of the server process so far (Linux): never near what reading the file would take.
    const status = await fs.readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    expect(peakKb * 1024).toBeLessThan(500 * MB);
  });
});
