// Small typed readers for validating parsed JSON: each failure is one SeerError naming the file, the JSON
// path and the fix. Used by the manifest and bank schemas (the bundle format's single source of truth in code).
import type { EngineErrorCode } from '../../../common/errorCodes';
import { type Fix, SeerError } from '../errors';

export type Json = unknown;

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

  /** Exactly `length` finite numbers, as a Float32Array (hidden-state space vectors). */
  vector(v: Json, path: string, length: number): Float32Array {
    return Float32Array.from(this.numbers(v, path, length));
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
