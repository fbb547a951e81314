// Shared by the engine tests: the bundle under test (models/default, or SEER_TEST_BUNDLE), temp copies of it
// to damage, and loading golden.json.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BUNDLE_DIR = path.resolve(process.env.SEER_TEST_BUNDLE ?? path.join(ROOT, 'models', 'default'));

if (!existsSync(path.join(BUNDLE_DIR, 'seer.json'))) {
  throw new Error(`No SEER bundle at ${BUNDLE_DIR}: build it with \`npm run build:model\` (or set SEER_TEST_BUNDLE).`);
}

export interface Golden {
  inputs: Array<{ text: string; templated: string; input_ids: number[]; attention_mask: number[] }>;
  hidden_states: number[][][][];
  last_logits: number[][];
  tokenization: Array<{ text: string; ids: number[] }>;
}

export function readManifest(dir = BUNDLE_DIR): Record<string, any> {
  return JSON.parse(readFileSync(path.join(dir, 'seer.json'), 'utf8'));
}

/** golden.json's tensors: {shape, float32: base64 of little-endian float32 bytes} (trainer export.pack_float32). */
interface PackedFloat32 {
  shape: number[];
  float32: string;
}

/** A packed tensor as nested arrays of its shape. */
function unpackFloat32(packed: PackedFloat32): any {
  const bytes = Buffer.from(packed.float32, 'base64');
  const values = new Float32Array(new Uint8Array(bytes).buffer); // a copy: Buffer's offset may not be 4-aligned
  const nest = (offset: number, dims: number[]): any => {
    if (dims.length === 1) return Array.from(values.subarray(offset, offset + dims[0]));
    const stride = dims.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[0] }, (_, i) => nest(offset + i * stride, dims.slice(1)));
  };
  if (values.length !== packed.shape.reduce((a, b) => a * b, 1)) throw new Error(`golden.json: a tensor of shape [${packed.shape}] holds ${values.length} values`);
  return nest(0, packed.shape);
}

export function readGolden(): Golden {
  const m = readManifest();
  const raw = JSON.parse(readFileSync(path.join(BUNDLE_DIR, m.files.golden ?? 'golden.json'), 'utf8'));
  return { ...raw, hidden_states: raw.hidden_states.map(unpackFloat32), last_logits: raw.last_logits.map(unpackFloat32) };
}

/** A fresh copy of the bundle under test in a temp folder (delete it with `fs.rm(dir, { recursive: true })`). */
export async function copyBundle(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-bundle-'));
  await fs.cp(BUNDLE_DIR, dir, { recursive: true });
  return dir;
}

/** Rewrites a JSON file through `edit` (to break a copied bundle in one place). */
export async function editJson(file: string, edit: (json: any) => void): Promise<void> {
  const json = JSON.parse(await fs.readFile(file, 'utf8'));
  edit(json);
  await fs.writeFile(file, JSON.stringify(json));
}

/** Runs the built CLI (`bin/seer.js`, after `npm run build`) with plain (uncoloured) output. */
export function runSeer(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'seer.js'), ...args], {
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 256 * 2 ** 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
