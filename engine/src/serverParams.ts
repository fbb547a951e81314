// The engine server's parameter checks: JSON from the host is untrusted, so every request's params are
// checked here, once, before a handler sees them. A bad field is an INVALID_ARGUMENT error naming it.
// Each schema lists every field of its protocol type (a field added to the type fails tsc here until
// it is checked); unknown fields are rejected too, so a misspelt option is not silently ignored.
import type {
  CalibrateParams,
  EngineConfig,
  EvaluateParams,
  ExplainBatchParams,
  ExplainOptions,
  ExplainParams,
  GenerateParams,
  Pooling,
  ProviderChoice,
  TruncationSide,
} from '../../common/protocol';
import { TORCH_DTYPES } from '../../common/protocol';
import { SeerError } from './errors';
import { checkHostThreads } from './hostWork/threads';
import { LIMITS, maxIntraOpThreads, overLimit } from './limits';

type Check<T> = (value: unknown, field: string) => T;

function invalid(field: string, expected: string, value: unknown): SeerError {
  return new SeerError('INVALID_ARGUMENT', `${field} must be ${expected}, got ${describe(value)}.`, { fix: `Send ${field} as ${expected}.` });
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value).slice(0, 80);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** Over a bound of engine/src/limits.ts: the message names the bound. */
function tooBig(field: string, got: number, max: number, unit = ''): SeerError {
  return overLimit(`${field}${unit}`, got, max, `Send ${field} within the engine's limit of ${max} (engine/src/limits.ts).`);
}

/** A prompt: any length (the engine cuts a long one before tokenizing, see LIMITS.promptCharsPerToken). */
const text: Check<string> = (v, f) => {
  if (typeof v !== 'string') throw invalid(f, 'a string', v);
  return v;
};
/** A path, name or column: short. */
const nonEmptyText: Check<string> = (v, f) => {
  if (typeof v !== 'string' || v === '') throw invalid(f, 'a non-empty string', v);
  if (v.length > LIMITS.nameChars) throw tooBig(f, v.length, LIMITS.nameChars, "'s length");
  return v;
};
const integer = (min: number, max: number): Check<number> => (v, f) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalid(f, `an integer ≥ ${min}`, v);
  if (v > max) throw tooBig(f, v, max);
  return v;
};
/** A fraction in [0, 1), or in (0, 1) when 0 is not allowed. */
const fraction = (closedAtZero: boolean): Check<number> => (v, f) => {
  if (typeof v !== 'number' || !(closedAtZero ? v >= 0 : v > 0) || !(v < 1)) throw invalid(f, `a number in ${closedAtZero ? '[0' : '(0'}, 1)`, v);
  return v;
};
const oneOf = <T extends string>(...allowed: T[]): Check<T> => (v, f) => {
  if (!allowed.includes(v as T)) throw invalid(f, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, v);
  return v as T;
};
const listOf = <T>(item: Check<T>, { nonEmpty = false, max = LIMITS.listEntries }: { nonEmpty?: boolean; max?: number } = {}): Check<T[]> => (v, f) => {
  if (!Array.isArray(v) || (nonEmpty && v.length === 0)) throw invalid(f, nonEmpty ? 'a non-empty list' : 'a list', v);
  if (v.length > max) throw tooBig(f, v.length, max, "'s length");
  return v.map((x, i) => item(x, `${f}[${i}]`));
};
const flag: Check<boolean> = (v, f) => {
  if (typeof v !== 'boolean') throw invalid(f, 'true or false', v);
  return v;
};
const optional = <T>(check: Check<T>): Check<T | undefined> => (v, f) => (v === undefined ? undefined : check(v, f));

/** One check per field of T, required or optional as T declares it. */
type Shape<T> = { [K in keyof T]-?: Check<T[K]> };

const object = <T>(shape: Shape<T>): Check<T> => (v, f) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(f, 'an object', v);
  const fields = v as Record<string, unknown>;
  const unknown = Object.keys(fields).find((k) => !(k in shape));
  if (unknown !== undefined) {
    throw new SeerError('INVALID_ARGUMENT', `${f} has an unknown field "${unknown}".`, { fix: `Use only: ${Object.keys(shape).join(', ')}.` });
  }
  const out: Partial<T> = {};
  for (const key of Object.keys(shape) as (keyof T & string)[]) {
    const value = shape[key](fields[key], `${f}.${key}`);
    if (value !== undefined) out[key] = value;
  }
  return out as T;
};

const pooling: Check<Pooling> = oneOf('last', 'mean', 'request-end');
const truncation: Check<TruncationSide> = oneOf('left', 'right');
const provider: Check<ProviderChoice> = oneOf('auto', 'cpu', 'cuda', 'webgpu', 'torch');
/** The torch provider's Python and compute type (EngineConfig.torch). */
const torchConfig = object<NonNullable<EngineConfig['torch']>>({ python: optional(nonEmptyText), dtype: optional(oneOf(...TORCH_DTYPES)) });
const layer = integer(0, LIMITS.layerIndex);
const layerPair: Check<[number, number]> = (v, f) => {
  if (!Array.isArray(v) || v.length !== 2) throw invalid(f, 'a [from, to] pair of layers', v);
  return [layer(v[0], `${f}[0]`), layer(v[1], `${f}[1]`)];
};
const tokenLayers: Check<ExplainOptions['tokenLayers']> = (v, f) =>
  v === undefined || v === 'all' || v === 'target' ? v : listOf(layer, { max: LIMITS.layerIndex })(v, f);

const explainOptions = object<ExplainOptions>({
  pooling: optional(pooling),
  bank: optional(nonEmptyText),
  maxTokens: optional(integer(1, LIMITS.maxTokens)),
  truncation: optional(truncation),
  tokenLayers,
  layerRange: optional(layerPair),
  topNextTokens: optional(integer(0, LIMITS.topNextTokens)),
});

const datasetFields = {
  path: nonEmptyText,
  textColumns: listOf(nonEmptyText, { nonEmpty: true }),
  labelColumn: nonEmptyText,
  safeConcepts: optional(listOf(nonEmptyText, { max: LIMITS.conceptsPerBank })),
  pooling: optional(pooling),
  batchSize: optional(integer(1, LIMITS.batchSize)),
  seed: optional(integer(0, LIMITS.seed)),
  progressToken: optional(nonEmptyText),
};

/** Any finite number (its range is checked by the engine, engine/src/generate.ts). */
const finite: Check<number> = (v, f) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(f, 'a finite number', v);
  return v;
};

/** One checker per request, each returning the params typed as the protocol declares them. */
export const checkParams = {
  load: object<EngineConfig>({
    bundleDir: nonEmptyText,
    provider,
    intraOpThreads: optional(integer(1, maxIntraOpThreads())),
    torch: optional(torchConfig),
    userBankDir: optional(nonEmptyText),
    warmUpWith: optional(explainOptions),
    hostThreads: optional(checkHostThreads),
  }),
  explain: object<ExplainParams>({ text, options: optional(explainOptions) }),
  explainBatch: object<ExplainBatchParams>({ texts: listOf(text, { max: LIMITS.batchTexts }), options: optional(explainOptions), progressToken: optional(nonEmptyText) }),
  calibrate: object<CalibrateParams>({
    ...datasetFields,
    bankName: optional(nonEmptyText),
    out: optional(nonEmptyText),
    intoBundle: optional(flag),
    force: optional(flag),
    heldOutFraction: optional(fraction(true)),
  }),
  generate: object<GenerateParams>({
    text,
    maxNewTokens: integer(1, LIMITS.maxTokens),
    temperature: optional(finite),
    topP: optional(finite),
    seed: optional(integer(0, LIMITS.seed)),
    bank: optional(nonEmptyText),
    steer: optional(listOf(object({ concept: nonEmptyText, strength: finite }), { max: LIMITS.conceptsPerBank })),
    progressToken: optional(nonEmptyText),
  }),
  evaluate: object<EvaluateParams>({
    ...datasetFields,
    bank: optional(nonEmptyText),
    split: optional(fraction(false)),
    layer: optional(layer),
  }),
};
