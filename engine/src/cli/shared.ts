// What every `seer` subcommand shares: argument parsing (node:util parseArgs), the engine options
// (--bundle, --provider, --threads, and --python / --torch-dtype for --provider torch), the default bundle
// location and the command table entry type.
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { type EngineConfig, type Pooling, type ProviderChoice, TORCH_DTYPES, type TruncationSide } from '../../../common/protocol';
import { SeerError } from '../errors';
import { LIMITS, maxIntraOpThreads } from '../limits';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. Throw SeerError for user-facing failures. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export const ENGINE_OPTIONS = {
  bundle: { type: 'string' },
  provider: { type: 'string', default: 'auto' },
  threads: { type: 'string' },
  python: { type: 'string' },
  'torch-dtype': { type: 'string' },
} as const satisfies Options;

/** The options of the commands that read prompts and run them (explain, represent). */
export const PROMPT_OPTIONS = {
  ...ENGINE_OPTIONS,
  json: { type: 'boolean', default: false },
  jsonl: { type: 'boolean', default: false },
  file: { type: 'string' },
  pooling: { type: 'string' },
  'max-tokens': { type: 'string' },
  truncate: { type: 'string' },
} as const satisfies Options;

/** --pooling, --max-tokens and --truncate of PROMPT_OPTIONS, checked (undefined: the default). */
export function promptReadingFromArgs(
  values: { pooling?: string; 'max-tokens'?: string; truncate?: string },
  usage: string,
): { pooling?: Pooling; maxTokens?: number; truncation?: TruncationSide } {
  return {
    pooling: oneOf('--pooling', values.pooling, ['last', 'mean', 'request-end'] as const, usage),
    maxTokens: values['max-tokens'] === undefined ? undefined : positiveInt('--max-tokens', values['max-tokens'], usage, LIMITS.maxTokens),
    truncation: oneOf('--truncate', values.truncate, ['left', 'right'] as const, usage),
  };
}

export const ENGINE_USAGE = `  --bundle DIR          SEER bundle folder (default: models/default of this package)
  --provider P          auto | cpu | cuda | webgpu | torch (default auto: cpu for a model too small for a
                        GPU, else cuda, then torch when PyTorch sees a CUDA GPU, then webgpu, then cpu;
                        torch: the model's PyTorch forward in a Python process)
  --threads N           intra-op threads for the forward pass (default: onnxruntime's choice)
  --python PATH         for the torch provider (--provider torch, or auto's choice for a large model): the
                        Python that runs it; needs torch and onnx (default: $SEER_PYTHON, else
                        of /usr/bin/python3 and python3 on PATH the one whose PyTorch sees CUDA)
  --torch-dtype T       for the torch provider: auto | float32 | bfloat16 | float16 (default auto:
                        bfloat16 on a CUDA GPU, float32 on the CPU)`;

/** The bundled default model: models/default next to dist/ (this file is bundled into dist/cli.js). */
export function defaultBundleDir(): string {
  return path.resolve(__dirname, '..', 'models', 'default');
}

export function parseCommandArgs<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new SeerError('INVALID_ARGUMENT', (err as Error).message.split('\n')[0], { fix: `Usage:\n${usage}` });
  }
}

export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cpu', 'cuda', 'webgpu', 'torch'];

export interface EngineArgs {
  bundle?: string;
  provider?: string;
  threads?: string;
  python?: string;
  'torch-dtype'?: string;
}

export function engineConfigFromArgs(values: EngineArgs, usage: string): EngineConfig {
  const provider = values.provider ?? 'auto';
  if (!PROVIDER_CHOICES.includes(provider as ProviderChoice)) {
    throw new SeerError('INVALID_ARGUMENT', `--provider must be auto, cpu, cuda, webgpu or torch, got "${provider}".`, { fix: `Usage:\n${usage}` });
  }
  const torchFlags = (['python', 'torch-dtype'] as const).filter((f) => values[f] !== undefined).map((f) => `--${f}`);
  // auto may choose torch (a large model, a PyTorch with CUDA): the flags apply to it then.
  if (provider !== 'torch' && provider !== 'auto' && torchFlags.length > 0) {
    throw new SeerError('INVALID_ARGUMENT', `${torchFlags.join(' and ')} ${torchFlags.length > 1 ? 'apply' : 'applies'} to --provider torch or auto only (the provider is ${provider}).`, {
      fix: `Use --provider torch or auto, or leave out ${torchFlags.join(' and ')}.`,
    });
  }
  if (values.python === '') throw new SeerError('INVALID_ARGUMENT', '--python must name a Python executable, got "".', { fix: `Usage:\n${usage}` });
  const dtype = oneOf('--torch-dtype', values['torch-dtype'], TORCH_DTYPES, usage);
  return {
    bundleDir: values.bundle ? path.resolve(values.bundle) : defaultBundleDir(),
    provider: provider as ProviderChoice,
    intraOpThreads: values.threads === undefined ? undefined : positiveInt('--threads', values.threads, usage, maxIntraOpThreads()),
    ...(torchFlags.length > 0 ? { torch: { ...(values.python !== undefined ? { python: values.python } : {}), ...(dtype ? { dtype } : {}) } } : {}),
  };
}

/** A positive integer flag, at most `max` (a bound of engine/src/limits.ts). */
export function positiveInt(flag: string, value: string, usage: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SeerError('INVALID_ARGUMENT', `${flag} must be a positive integer, got "${value}".`, { fix: `Usage:\n${usage}` });
  if (n > max) throw new SeerError('INVALID_ARGUMENT', `${flag} is ${n}; the limit is ${max}.`, { fix: `Use ${flag} ${max} or less.` });
  return n;
}

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], usage: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new SeerError('INVALID_ARGUMENT', `${flag} must be ${allowed.join(' or ')}, got "${value}".`, { fix: `Usage:\n${usage}` });
  return value as T;
}
