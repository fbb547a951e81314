// Parsing a bundle's JSON files (position-only syntax errors, bounded nesting) and small typed readers for
// validating them: each failure is one SeerError naming the file, the JSON path and the fix. Used by the
// manifest and bank schemas (the bundle format's single source of truth in code).
import type { EngineErrorCode } from '../../../common/errorCodes';
import { type Fix, SeerError } from '../errors';
import { norm } from '../vectors';
import { PACKED_ENCODINGS, type PackedEncoding, unpackFloats } from './packedFloats';

export type Json = unknown;

/** How far a stored unit vector's length may be from 1 (JsonChecker.unitLength). */
const UNIT_LENGTH_TOLERANCE = 1e-3;

/** Nesting deeper than any bundle file needs; deeper JSON would overflow the stack of what walks it. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a bundle file's text. Errors give the position only, never a snippet of the text (JSON.parse quotes
 * one, and a file that is not what it should be can hold anything), and refuse nesting over MAX_JSON_DEPTH.
 */
export function parseJson(text: string, file: string, code: EngineErrorCode): Json {
  const fail = (problem: string): never => {
    throw new SeerError(code, `${file} is not valid JSON: ${problem}.`, {
      file,
      fix: 'The file is damaged: rebuild the bundle (`npm run build:model`) or restore the file.',
    });
  };
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    const at = syntaxErrorOffset(text);
    fail(text.trim() === '' ? 'it is empty' : `syntax error at ${lineColumn(text, at)}`);
  }
  if (nestsDeeperThan(json, MAX_JSON_DEPTH)) fail(`it nests more than ${MAX_JSON_DEPTH} levels deep`);
  return json;
}

function lineColumn(text: string, pos: number): string {
  const before = text.slice(0, pos);
  return `line ${before.split('\n').length}, column ${pos - before.lastIndexOf('\n')}`;
}

const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/**
 * Offset of the first character where `text` stops being JSON, for a message that locates the error without
 * quoting the text (V8's JSON.parse messages quote it). Called only after JSON.parse failed; a state machine
 * with an explicit stack, so nesting cannot overflow it.
 */
function syntaxErrorOffset(text: string): number {
  let i = 0;
  const closers: string[] = [];
  let state: 'value' | 'valueOrEnd' | 'key' | 'keyOrEnd' | 'after' = 'value';
  const token = (re: RegExp): boolean => {
    re.lastIndex = i;
    if (!re.test(text)) return false;
    i = re.lastIndex;
    return true;
  };
  const skipSpace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const close = (): void => {
    closers.pop();
    i++;
    state = 'after';
  };
  for (;;) {
    skipSpace();
    const c = text[i];
    if (state === 'after') {
      if (closers.length === 0) return i;
      if (c === closers[closers.length - 1]) close();
      else if (c !== ',') return i;
      else {
        i++;
        state = closers[closers.length - 1] === '}' ? 'key' : 'value';
      }
    } else if (state === 'keyOrEnd' && c === '}') close();
    else if (state === 'key' || state === 'keyOrEnd') {
      if (!token(STRING)) return i;
      skipSpace();
      if (text[i] !== ':') return i;
      i++;
      state = 'value';
    } else if (state === 'valueOrEnd' && c === ']') close();
    else if (c === '{' || c === '[') {
      closers.push(c === '{' ? '}' : ']');
      i++;
      state = c === '{' ? 'keyOrEnd' : 'valueOrEnd';
    } else if (token(STRING) || token(SCALAR)) state = 'after';
    else return i;
  }
}

/** Whether `v` nests deeper than `max` (arrays and objects), walked without recursion. */
function nestsDeeperThan(v: Json, max: number): boolean {
  const stack: Array<[Json, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(x) ? x : Object.values(x)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/** Keys that are properties of every object: as a bank name they would read or replace what is not a bank. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf']);

export class JsonChecker {
  constructor(
    readonly file: string,
    readonly code: EngineErrorCode,
    readonly fix: Fix,
  ) {}

  fail(path: string, problem: string): never {
    throw new SeerError(this.code, `${this.file}: ${path ? `"${path}" ` : ''}${problem}`, { file: this.file, fix: this.fix });
  }

  object(v: Json, path: string): Record<string, Json> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `must be an object, got ${describe(v)}`);
    return v as Record<string, Json>;
  }

  string(obj: Record<string, Json>, key: string, path: string, opts: { nonEmpty?: boolean } = {}): string {
    const v = obj[key];
    if (typeof v !== 'string') this.fail(join(path, key), `must be a string, got ${describe(v)}`);
    if (opts.nonEmpty && v.trim() === '') this.fail(join(path, key), 'must not be empty');
    return v;
  }

  number(obj: Record<string, Json>, key: string, path: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
    const v = obj[key];
    const p = join(path, key);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(p, `must be a finite number, got ${describe(v)}`);
    if (opts.integer && !Number.isInteger(v)) this.fail(p, `must be an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(p, `must be at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(p, `must be at most ${opts.max}, got ${v}`);
    return v;
  }

  boolean(obj: Record<string, Json>, key: string, path: string): boolean {
    const v = obj[key];
    if (typeof v !== 'boolean') this.fail(join(path, key), `must be true or false, got ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(obj: Record<string, Json>, key: string, path: string, allowed: readonly T[]): T {
    const v = obj[key];
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.fail(join(path, key), `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(v)}`);
    }
    return v as T;
  }

  array(v: Json, path: string, length?: number): Json[] {
    if (!Array.isArray(v)) this.fail(path, `must be an array, got ${describe(v)}`);
    if (length !== undefined && v.length !== length) this.fail(path, `must have ${length} entries, has ${v.length}`);
    return v;
  }

  stringArray(obj: Record<string, Json>, key: string, path: string, opts: { nonEmpty?: boolean; unique?: boolean } = {}): string[] {
    const p = join(path, key);
    const arr = this.array(obj[key], p);
    arr.forEach((s, i) => {
      if (typeof s !== 'string' || s.trim() === '') this.fail(`${p}[${i}]`, `must be a non-empty string, got ${describe(s)}`);
    });
    if (opts.nonEmpty && arr.length === 0) this.fail(p, 'must not be empty');
    if (opts.unique && new Set(arr).size !== arr.length) this.fail(p, 'must not contain duplicates');
    return arr as string[];
  }

  /** Exactly `length` finite numbers. */
  numbers(v: Json, path: string, length: number): number[] {
    const arr = this.array(v, path, length);
    arr.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(`${path}[${i}]`, `must be a finite number, got ${describe(x)}`);
    });
    return arr as number[];
  }

  /** Exactly `length` numbers that stay finite as float32 (hidden-state space vectors); `label` says whose. */
  vector(v: Json, path: string, length: number, label?: string): Float32Array {
    const numbers = this.numbers(v, path, length);
    const vector = Float32Array.from(numbers);
    vector.forEach((x, i) => {
      if (!Number.isFinite(x)) this.fail(`${path}[${i}]`, `${label ? `(${label}) ` : ''}is ${numbers[i]}, outside the float32 range (±3.4e38)`);
    });
    return vector;
  }

  /**
   * A stored unit vector (a bank's prototype, a concept map's example: both renormalised) is unit length, so cosines
   * with it stay finite. The tolerance is far above what storing moves (7-digit rounding ~1e-7, float16 ~5e-4 at most).
   */
  unitLength(vector: Float32Array, path: string, label: string): Float32Array {
    const length = norm(vector);
    if (!(Math.abs(length - 1) <= UNIT_LENGTH_TOLERANCE)) this.fail(path, `(${label}) must have length 1, has ${length.toPrecision(4)}`);
    return vector;
  }

  /** Packed floats ({"encoding", "data"}, packedFloats.ts): exactly `count` values in one of `encodings`, each finite; as float32. */
  packed(v: Json, path: string, count: number, encodings: readonly PackedEncoding[]): Float32Array {
    const obj = this.object(v, path);
    const encoding = this.oneOf(obj, 'encoding', path, encodings);
    const data = this.string(obj, 'data', path);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) this.fail(`${path}.data`, 'must be base64');
    const bytes = Buffer.from(data, 'base64');
    const width = PACKED_ENCODINGS[encoding];
    const type = encoding.split('-')[0];
    if (bytes.length !== count * width) this.fail(`${path}.data`, `must hold ${count} ${type} values (${count * width} bytes), holds ${bytes.length} bytes`);
    const values = unpackFloats(bytes, encoding);
    values.forEach((x, i) => {
      if (!Number.isFinite(x)) this.fail(`${path}.data`, `value ${i} is ${x}, not a finite number`);
    });
    return values;
  }

  /** A name used as a key (a bank name): not empty, and not a property every object has. */
  name(v: Json, path: string): string {
    if (typeof v !== 'string' || v.trim() === '') this.fail(path, `must be a non-empty name, got ${describe(v)}`);
    if (RESERVED_NAMES.has(v)) this.fail(path, `"${v}" is a reserved name`);
    return v;
  }

  /** A rows × cols matrix of finite numbers. */
  matrix(v: Json, path: string, rows: number, cols: number): number[][] {
    return this.array(v, path, rows).map((row, i) => this.numbers(row, `${path}[${i}]`, cols));
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(v: Json): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'object' ? 'an object' : String(v);
}
